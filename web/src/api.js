// Calls to the fieldnav API: the bearer token (renewed once on a 401), the app's language,
// problem+json errors, network failures.
import { markAuthLost, renewToken } from './auth.js';
import { lang } from './i18n.js';
import { state } from './state.js';

export class ApiError extends Error {
  constructor(status, problem, retryAfterS) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.retryAfterS = retryAfterS;
  }
}

// fetch itself failed: no network, server down, or the request was refused by the browser.
export class NetworkError extends Error {}

// Problem details come back in the app's language (the server reads Accept-Language).
export function authHeaders(extra = {}) {
  const base = { 'Accept-Language': lang() };
  return state.token ? { ...base, Authorization: `Bearer ${state.token}`, ...extra } : { ...base, ...extra };
}

export function retryAfterSeconds(response, fallbackS = 1) {
  const value = response.headers.get('Retry-After');
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : fallbackS;
}

async function send(path, { method, body, headers, signal }) {
  try {
    return await fetch(path, {
      method,
      signal,
      headers: authHeaders(body === undefined ? headers : { 'Content-Type': 'application/json', ...headers }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new NetworkError(error.message);
  }
}

export async function request(path, { method = 'GET', body, headers = {}, signal } = {}) {
  let response = await send(path, { method, body, headers, signal });
  if (response.status === 401 && state.token) {
    // An expired token: renew it with this phone's key and ask once more; else the app goes
    // on from what the phone holds until the worker signs in again.
    if (await renewToken()) response = await send(path, { method, body, headers, signal });
    if (response.status === 401) markAuthLost();
  }
  if (!response.ok) {
    let problem = null;
    try {
      problem = await response.json();
    } catch {
      problem = null;
    }
    throw new ApiError(response.status, problem, retryAfterSeconds(response));
  }
  return response;
}

export async function api(path, options) {
  const response = await request(path, options);
  if (response.status === 204) return null;
  return response.json();
}
