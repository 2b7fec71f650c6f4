// Calls to the fieldnav API: the bearer token, problem+json errors, network failures.
import { state, emit } from './state.js';

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

export function authHeaders(extra = {}) {
  return state.token ? { Authorization: `Bearer ${state.token}`, ...extra } : { ...extra };
}

export function retryAfterSeconds(response, fallbackS = 1) {
  const value = response.headers.get('Retry-After');
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : fallbackS;
}

export async function request(path, { method = 'GET', body, headers = {}, signal } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      signal,
      headers: authHeaders(body === undefined ? headers : { 'Content-Type': 'application/json', ...headers }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new NetworkError(error.message);
  }
  if (response.status === 401) emit('unauthorized');
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
