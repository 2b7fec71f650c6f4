// Staying signed in for a shift without retyping: a refresh token bound to this phone.
//
// At sign-in the app makes a P-256 key pair that cannot leave the browser (WebCrypto,
// extractable: false, kept in IndexedDB) and registers its public half with the server
// (POST /v1/auth/devices). Renewing the access token (POST /v1/auth/refresh) needs the
// refresh token AND a DPoP proof (RFC 9449) signed by that key, so a copied refresh token
// is useless on another device. Each renewal rotates the refresh token.
import { getMeta, setMeta } from './db.js';

const DEVICE_KEY = 'device'; // meta: {id, keys: CryptoKeyPair, jwk, refreshToken, refreshExpiresAt, expiresAt, subject}

function base64url(bytes) {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const encodeJson = (value) => base64url(new TextEncoder().encode(JSON.stringify(value)));

export function webCryptoAvailable() {
  return Boolean(globalThis.crypto?.subtle && globalThis.isSecureContext !== false);
}

async function newKeys() {
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', keys.publicKey);
  return { keys, jwk: { kty, crv, x, y } };
}

function randomId() {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}

// How far the server's clock is from the phone's (from a refused answer's Date header): a
// phone set a few minutes wrong would otherwise have every proof refused as too old.
let serverClockOffsetMs = 0;
const CLOCK_SKEW_LIMIT_MS = 60_000;

function learnServerClock(response) {
  const serverTime = Date.parse(response.headers.get('Date') || '');
  if (Number.isNaN(serverTime)) return false;
  const offset = serverTime - Date.now();
  const changed = Math.abs(offset - serverClockOffsetMs) > CLOCK_SKEW_LIMIT_MS;
  serverClockOffsetMs = offset;
  return changed;
}

// A DPoP proof JWT for one request. WebCrypto's ECDSA signature is r||s, as JWS ES256 wants.
export async function dpopProof({ keys, jwk }, method, url) {
  const header = { typ: 'dpop+jwt', alg: 'ES256', jwk };
  const iat = Math.floor((Date.now() + serverClockOffsetMs) / 1000);
  const claims = { htm: method, htu: new URL(url, location.origin).href.split(/[?#]/)[0], iat, jti: randomId() };
  const input = `${encodeJson(header)}.${encodeJson(claims)}`;
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keys.privateKey, new TextEncoder().encode(input));
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

export async function loadDevice() {
  return (await getMeta(DEVICE_KEY)) || null;
}

export async function forgetDevice() {
  await setMeta(DEVICE_KEY, null);
}

async function post(path, body, headers) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => null);
  return { status: response.status, answer, clockWasWrong: response.status === 401 && learnServerClock(response) };
}

// Register this phone for the signed-in user. Returns the device, or null when the server
// will not (an agency identity provider's token: that provider renews it) or cannot.
export async function registerDevice(accessToken, subject) {
  if (!webCryptoAvailable()) return null;
  const made = await newKeys();
  const proof = await dpopProof(made, 'POST', '/v1/auth/devices');
  const { status, answer } = await post('/v1/auth/devices', { public_jwk: made.jwk }, { Authorization: `Bearer ${accessToken}`, DPoP: proof });
  if (status !== 201 || !answer?.refresh_token) return null;
  const device = {
    id: answer.device_id, ...made, subject, refreshToken: answer.refresh_token,
    refreshExpiresAt: answer.refresh_expires_at, expiresAt: answer.expires_at,
  };
  await setMeta(DEVICE_KEY, device);
  return device;
}

// A new access token from the device's refresh token: {token} on success, {refused: true}
// when the server says no (revoked, expired: sign in again), or throws on no network.
export async function renewWithDevice(device, retried = false) {
  const proof = await dpopProof(device, 'POST', '/v1/auth/refresh');
  const { status, answer, clockWasWrong } = await post('/v1/auth/refresh', { refresh_token: device.refreshToken }, { DPoP: proof });
  // Refused for the phone's clock alone (the proof looked too old or too new): once more on the server's.
  if (clockWasWrong && !retried) return renewWithDevice(device, true);
  if (status === 200 && answer?.access_token) {
    await setMeta(DEVICE_KEY, { ...device, refreshToken: answer.refresh_token, refreshExpiresAt: answer.refresh_expires_at });
    return { token: answer.access_token };
  }
  if (status === 401 || status === 403 || status === 404) {
    await forgetDevice();
    return { refused: true };
  }
  return { failed: status }; // 429 or 5xx: try again later; the device stays
}

// Sign-out on purpose: the server forgets this phone (best effort when offline).
export async function revokeDevice(device, accessToken) {
  if (!device) return;
  try {
    await fetch(`/v1/auth/devices/${encodeURIComponent(device.id)}`, { method: 'DELETE', headers: { Authorization: `Bearer ${accessToken}` } });
  } catch {
    /* offline: the device expires on the server by itself (idle limit) */
  }
  await forgetDevice();
}
