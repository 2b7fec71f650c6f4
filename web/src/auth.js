// The bearer token: from the sign-in screen or a sign-in link's fragment (#token=...), kept on
// the phone (IndexedDB) so the app and its outbox work after a restart offline, and renewed
// through this phone's registered key (device.js) before it ends.
//
// An expired or refused token never locks the worker out of the phone's own data: the app
// goes on from the saved area, queues what it must send, and asks for a sign-in only to talk
// to the server again (state.authLost).
import { getMeta, setMeta } from './db.js';
import { forgetDevice, loadDevice, registerDevice, renewWithDevice, revokeDevice } from './device.js';
import { emit, state } from './state.js';

export const RENEW_BEFORE_S = 30 * 60; // renew this long before the token ends
export const WARN_BEFORE_S = 60 * 60; // and warn this long before, when it cannot be renewed

// A sign-in link carries the token in the fragment, which browsers never send to a server.
// Take it, and remove it from the address bar (and from the history entry). Stored only once
// the server accepts it (session.js).
export function tokenFromFragment() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return null;
  history.replaceState(null, '', location.pathname + location.search);
  return decodeURIComponent(match[1]);
}

export async function loadToken() {
  state.token = (await getMeta('token')) || null;
  return state.token;
}

// `kind`: 'signed-in' (the worker did) or 'renewed' (this phone's key did). Either way, a
// worker who was signed out is back: everything that waited goes (main.js, 'signed-in').
export async function storeToken(token, kind = 'signed-in') {
  const wasLost = state.authLost;
  state.token = token.trim();
  state.authLost = false;
  await setMeta('token', state.token);
  emit('auth', wasLost ? 'signed-in' : kind);
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

// Seconds until the token ends (negative once it has), or null when it names no end.
export function secondsLeft(token = state.token, now = Date.now()) {
  const exp = claims(token)?.exp;
  return typeof exp === 'number' ? exp - now / 1000 : null;
}

export function expired(token = state.token) {
  const left = secondsLeft(token);
  return left !== null && left <= 0;
}

// May the app talk to the server as someone right now?
export function signedIn() {
  return Boolean(state.token) && !state.authLost && !expired();
}

export function markAuthLost() {
  if (state.authLost) return;
  state.authLost = true;
  emit('auth', 'lost');
}

// After a sign-in the server accepted: register this phone so the next renewals need no
// typing. Best effort: an agency identity provider's token is renewed by that provider.
export async function ensureDevice(subject) {
  const device = await loadDevice();
  if (device && device.subject === subject) return device;
  if (device) await forgetDevice();
  try {
    return await registerDevice(state.token, subject);
  } catch (error) {
    console.warn('device registration', error);
    return null;
  }
}

let renewing = null;

// One renewal at a time, whoever asks (a 401, the timer, coming back online), and across the
// app's tabs (a Web Lock): two renewals with one refresh token look like a stolen token to
// the server, which then revokes the device. Resolves true when a new token is stored.
export function renewToken() {
  if (!renewing) {
    const run = () => runRenew();
    renewing = (navigator.locks ? navigator.locks.request('fieldnav-renew', run) : run()).finally(() => { renewing = null; });
  }
  return renewing;
}

async function runRenew() {
  // Another tab may have renewed while this one waited for the lock: take its token.
  const stored = await getMeta('token');
  if (stored && stored !== state.token && !expired(stored)) {
    await storeToken(stored, 'renewed');
    return true;
  }
  const device = await loadDevice();
  if (!device) return false;
  let outcome;
  try {
    outcome = await renewWithDevice(device);
  } catch {
    return false; // no network: the token stays as it is; the app runs from the phone
  }
  if (outcome.token) {
    await storeToken(outcome.token, 'renewed');
    return true;
  }
  return false;
}

// Renew when the end is near and the network is there.
export async function renewIfDue() {
  const left = secondsLeft();
  if (!state.online || !state.token || left === null || left > RENEW_BEFORE_S) return false;
  return renewToken();
}

export async function forgetSignIn() {
  await revokeDevice(await loadDevice(), state.token);
  await clearToken();
}
