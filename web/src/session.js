// Signing in, and what the worker is told about it: the sign-in screen (first start, or over
// the app once the token has ended), the banner that warns ahead of the end, and the timer
// that renews the token through this phone's key before it ends.
import { ApiError, NetworkError, api } from './api.js';
import {
  WARN_BEFORE_S, claims, ensureDevice, markAuthLost, renewIfDue, secondsLeft, signedIn, storeToken, tokenFromFragment,
} from './auth.js';
import { getMeta, setMeta } from './db.js';
import { loadDevice } from './device.js';
import { formatClock, lang, t } from './i18n.js';
import { emit, state } from './state.js';
import { $, h, replace } from './ui.js';

const CHECK_EVERY_MS = 60_000;

// 'ok' (state.me set), 'refused' (401, even after a renewal) or 'unreachable' (no answer:
// the stored token is trusted until the server can say).
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

// --- the sign-in screen ----------------------------------------------------------------------

// `over`: the app is running behind it (a new sign-in after the token ended); the worker may
// go back to what the phone holds.
export function showSignIn(message = '', { over = false } = {}) {
  $('#signin').hidden = false;
  $('#app').hidden = true;
  $('#provider').hidden = true;
  $('#signin-close').hidden = !over;
  // Signed out on an open server: back to the (live) map and list, not just the saved data.
  const back = $('#signin-close');
  back.dataset.i18n = !state.token && state.publicReads ? 'signin.continuePublic' : 'signin.continue';
  back.textContent = t(back.dataset.i18n);
  const error = $('#signin-error');
  error.textContent = message;
  error.hidden = !message;
  $('#signin-token').focus();
}

// The app the signed-in role gets (state.mode, main.js): the provider view, or the field's.
export function hideSignIn() {
  $('#signin').hidden = true;
  $('#app').hidden = state.mode === 'provider';
  $('#provider').hidden = state.mode !== 'provider';
  emit('app-shown');
}

// --- the banner ---------------------------------------------------------------------------------

export async function renderBanner(pending = 0) {
  const banner = $('#session-banner');
  if (!state.token && !state.authLost) {
    // Nobody signed in on an open server (public reads): say what a sign-in is for.
    banner.hidden = !state.publicReads || state.mode !== 'field';
    banner.dataset.kind = banner.hidden ? '' : 'anonymous';
    if (!banner.hidden) {
      replace(banner,
        h('p', { id: 'session-text', text: t('session.anonymous') }),
        h('button', { id: 'session-signin', class: 'btn', type: 'button', text: t('session.signIn'), onclick: () => showSignIn('', { over: true }) }),
      );
    }
    return;
  }
  const left = secondsLeft();
  const device = await loadDevice();
  let kind = null;
  if (state.authLost || (left !== null && left <= 0)) kind = device && !state.online ? 'ended-renews' : 'lost';
  else if (left !== null && left <= WARN_BEFORE_S && !(device && state.online)) kind = device ? 'ending-renews' : 'ending';
  banner.hidden = !kind;
  banner.dataset.kind = kind || '';
  if (!kind) return;
  const end = claims()?.exp ? formatClock(new Date(claims().exp * 1000), Intl.DateTimeFormat().resolvedOptions().timeZone) : '';
  const texts = {
    lost: state.mode === 'provider' ? t('session.lostProvider')
      : [t('session.lost'), pending ? t('session.lostPending', { n: pending }) : ''].filter(Boolean).join(' '),
    'ended-renews': t('session.endedRenews'),
    ending: t('session.ending', { time: end }),
    'ending-renews': t('session.endingRenews', { time: end }),
  };
  replace(banner,
    h('p', { id: 'session-text', text: texts[kind] }),
    !kind.endsWith('-renews') && h('button', {
      id: 'session-signin', class: 'btn', type: 'button', text: t('session.signIn'),
      onclick: () => showSignIn('', { over: true }),
    }),
  );
}

// --- start, and signing in again --------------------------------------------------------------

// After the server accepted the token: who it is, and this phone registered for renewals.
async function accepted() {
  state.authLost = false;
  if (state.me?.subject) await ensureDevice(state.me.subject);
}

// Decide, from the stored token, whether the app can talk to the server. Never refuses the
// app itself: with a token that ended, it runs from the phone (state.authLost).
export async function resumeSession() {
  if (!state.online) {
    state.me = (await getMeta('me')) || null;
    if (!signedIn()) markAuthLost();
    return;
  }
  const check = await checkToken();
  if (check === 'ok') await accepted();
  else if (check === 'refused') markAuthLost();
  else if (!signedIn()) markAuthLost();
}

// The server's word on a token, asked with that token alone: a refusal is never "renewed"
// with this phone's key, which belongs to whoever signed in before.
async function probe(token) {
  try {
    const response = await fetch('/v1/me', { headers: { Authorization: `Bearer ${token}`, 'Accept-Language': lang() } });
    if (response.status === 401) return { refused: true };
    return response.ok ? { me: await response.json() } : { unreachable: true };
  } catch {
    return { unreachable: true };
  }
}

// A pasted token or a sign-in link. Refused, nothing changes and the screen says so; accepted
// (or not checkable offline), it is stored, and what waited for a sign-in goes with it.
export async function signInWith(token) {
  const pasted = (token || '').trim();
  if (!pasted) return { error: t('signin.empty') };
  const answer = state.online ? await probe(pasted) : { unreachable: true };
  if (answer.refused) return { error: t('signin.refused') };
  if (answer.me) {
    state.me = answer.me;
    await setMeta('me', answer.me);
  }
  await storeToken(pasted);
  if (answer.me) await accepted();
  return { ok: true };
}

// A sign-in link (#token=...), at start or opened while the app runs, on either screen.
export async function takeLink() {
  const token = tokenFromFragment();
  return token ? signInWith(token) : null;
}

// Renew before the end while online; warn when it cannot be.
export function keepSessionAlive(onTick) {
  const tick = async () => {
    if (state.token) await renewIfDue(); // a renewal says so itself ('auth', 'renewed')
    onTick();
  };
  setInterval(tick, CHECK_EVERY_MS);
  // A phone taken out of a pocket: timers were asleep, the token may be near its end.
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') tick(); });
  return tick();
}
