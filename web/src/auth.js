// The bearer token: from the sign-in screen or the demo link's fragment (#token=...),
// kept on the phone (IndexedDB) so the app and its outbox work after a restart offline.
import { ApiError, NetworkError, api } from './api.js';
import { getMeta, setMeta } from './db.js';
import { state } from './state.js';

// The demo sign-in link carries the token in the fragment, which browsers never send to a
// server. Take it, and remove it from the address bar (and from the history entry).
export async function takeTokenFromFragment() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return false;
  history.replaceState(null, '', location.pathname + location.search);
  await storeToken(decodeURIComponent(match[1]));
  return true;
}

export async function loadToken() {
  state.token = (await getMeta('token')) || null;
  return state.token;
}

export async function storeToken(token) {
  state.token = token.trim();
  await setMeta('token', state.token);
}

export async function clearToken() {
  state.token = null;
  state.me = null;
  await setMeta('token', null);
}

// The token's claims as written (not verified: the server does that), for display and expiry.
export function claims(token = state.token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4)));
  } catch {
    return null;
  }
}

export function expired(token = state.token) {
  const exp = claims(token)?.exp;
  return typeof exp === 'number' && exp * 1000 < Date.now();
}

// 'ok' (state.me set), 'refused' (401) or 'unreachable' (no answer: trust the stored token).
export async function checkToken() {
  try {
    state.me = await api('/v1/me');
    await setMeta('me', state.me);
    return 'ok';
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return 'refused';
    if (error instanceof NetworkError || (error instanceof ApiError && error.status >= 500)) {
      state.me = (await getMeta('me')) || null;
      return 'unreachable';
    }
    throw error;
  }
}
