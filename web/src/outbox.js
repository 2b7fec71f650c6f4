// Requests a worker taps that must reach the server exactly once, with or without a network:
// handoffs to 211 (handoff.js) and field reports of wrong data (report.js). One outbox per
// kind, each an IndexedDB store (db.js) keyed by the request's Idempotency-Key.
//
// A tap is first written to its outbox with its own Idempotency-Key, made once, at tap time.
// The outboxes are sent whenever the server can be reached (at once, on the `online` event,
// after a new sign-in, at start, and every 20 s while anything waits); every retry of an item
// sends the same key and body, so the server acts once however many times the request (or its
// answer) is lost. An item leaves its outbox on a 2xx answer (a replayed answer is one), or on
// an answer its kind counts as done (a report the server already has: 409 report-exists).
// 409 (the same key still in flight), 429 and 503 wait for Retry-After: a short wait in the
// flush, a long one (a report limit's 25 min) as the item's `notBefore`; 5xx and no answer back
// off. 401 waits for a sign-in (never counted as refused). Any other 4xx means the request
// itself is wrong: the item is kept as `rejected` with the server's messages by form field, and
// is no longer counted as waiting; the worker corrects it (the form comes back whole) or
// discards it.
//
// An item: {key, body, subject, createdAt, state: 'queued' | 'sending' | 'rejected', tries,
// error, fieldErrors, notBefore, ...what its kind keeps to show it or give its form back}.
// `subject`: who tapped it; it is sent under that worker's sign-in only, never another's.
import { authHeaders, retryAfterSeconds } from './api.js';
import { claims, markAuthLost, renewToken } from './auth.js';
import { done, transaction } from './db.js';
import { emit, serverUsable } from './state.js';
import { sleep } from './ui.js';

const MAX_TRIES_PER_FLUSH = 6;
const MAX_WAIT_S = 30; // a longer Retry-After is waited for between flushes, not in one
const FLUSH_EVERY_MS = 20_000;
const FIRST_RETRY_MS = 2000;
const MAX_RETRY_MS = 60_000;

const outboxes = [];

// Tapped by the worker signed in now (items from before this field was kept count as theirs).
export function mine(item) {
  return !item.subject || item.subject === claims()?.sub;
}

// The server's problem as messages by form field: `fieldOf(errors[].field)` names the field
// (null: the form's general message). The messages are in the app's language: the request
// said Accept-Language.
export function problemErrors(problem, status, fieldOf, fallback) {
  const errors = {};
  for (const entry of problem?.errors || []) {
    const name = fieldOf(entry.field || '') || 'general';
    errors[name] = errors[name] ? `${errors[name]} ${entry.message}` : entry.message;
  }
  if (!Object.keys(errors).length) errors.general = problem?.detail || fallback(status);
  return errors;
}

// options:
//   store          the IndexedDB store of the items
//   lock           the Web Lock's name: one flush at a time across the app's tabs
//   url(item)      where the item is POSTed
//   keep           optional {store, record(item, created, response)}: a record written with
//                  the item's removal, in the same transaction (a handoff as the server took it)
//   accepted(item, created, response, {already})   after the item left the outbox: tell the worker
//   alreadyDone(status, problem)   true when a refusal means the server has it already
//   fieldErrors(problem, status)   the server's messages by form field
//   refused(item)  the server refused the item as it is (kept as `rejected`)
//   changed()      the items changed (re-render what shows them)
//   flushed(sent)  after each flush
export function createOutbox(options) {
  const { store, lock } = options;
  let flushing = null;
  let retryTimer = null;
  let retryDelayMs = FIRST_RETRY_MS;

  const read = (work) => transaction([store], 'readonly', (s) => done(work(s[store])));
  const write = (work) => transaction([store], 'readwrite', (s) => done(work(s[store])));
  const save = (item) => write((s) => s.put(item));

  function post(item) {
    return fetch(options.url(item), {
      method: 'POST',
      headers: authHeaders({ 'Content-Type': 'application/json', 'Idempotency-Key': item.key }),
      body: JSON.stringify(item.body),
    });
  }

  async function leave(item, created, response, already) {
    if (options.keep) {
      const record = options.keep.record(item, created, response);
      await transaction([store, options.keep.store], 'readwrite', async (s) => {
        await done(s[options.keep.store].put(record));
        await done(s[store].delete(item.key));
      });
      await options.accepted?.(item, record, response, { already });
    } else {
      await write((s) => s.delete(item.key));
      await options.accepted?.(item, created, response, { already });
    }
  }

  // 'sent', 'rejected', 'offline' (no answer), 'later' (try again soon) or 'unauthorized'.
  async function sendOne(item) {
    for (let attempt = 0; attempt < MAX_TRIES_PER_FLUSH; attempt++) {
      item.tries = (item.tries || 0) + 1;
      item.state = 'sending';
      await save(item);
      options.changed?.();
      let response;
      try {
        response = await post(item);
        // An ended token: renew it with this phone's key and send the same request again.
        if (response.status === 401 && (await renewToken())) response = await post(item);
      } catch {
        item.state = 'queued';
        await save(item);
        return 'offline'; // no answer: the server may or may not have it; the same key settles it
      }
      if (response.ok) {
        let created;
        try {
          created = await response.json();
        } catch {
          item.state = 'queued'; // a 2xx that is not ours (a captive portal's page): ask again later
          await save(item);
          return 'later';
        }
        await leave(item, created, response, false);
        return 'sent';
      }
      let problem = null;
      try {
        problem = await response.json();
      } catch {
        problem = null;
      }
      if (response.status === 401) {
        item.state = 'queued'; // waits for the next sign-in: never refused for it
        item.error = null;
        await save(item);
        markAuthLost();
        return 'unauthorized';
      }
      if (options.alreadyDone?.(response.status, problem)) {
        await leave(item, problem, response, true);
        return 'sent';
      }
      if ([409, 429, 503].includes(response.status)) {
        // 409: this very key is still being processed; 429, 503: wait as told and ask again.
        const waitS = retryAfterSeconds(response, 1);
        if (waitS > MAX_WAIT_S) {
          item.state = 'queued';
          item.notBefore = Date.now() + waitS * 1000;
          await save(item);
          return 'later';
        }
        await sleep(waitS * 1000);
        continue;
      }
      if (response.status >= 400 && response.status < 500) {
        item.state = 'rejected';
        item.fieldErrors = options.fieldErrors(problem, response.status);
        item.error = Object.values(item.fieldErrors).join(' ');
        await save(item);
        options.refused?.(item);
        return 'rejected';
      }
      await sleep(Math.min(2 ** attempt, MAX_WAIT_S) * 1000); // 5xx: back off
    }
    item.state = 'queued';
    await save(item);
    return 'later';
  }

  async function runFlush() {
    if (!serverUsable()) return 0; // offline, or signed out: everything waits, nothing is refused
    const items = (await read((s) => s.getAll())).sort((a, b) => a.createdAt - b.createdAt);
    let sent = 0;
    let unsettled = false;
    let wakeAt = null; // the soonest item told to wait longer than a flush waits
    for (const item of items) {
      if (item.state === 'rejected' || !mine(item)) continue;
      if (item.notBefore && item.notBefore > Date.now()) {
        wakeAt = Math.min(wakeAt ?? Infinity, item.notBefore);
        continue;
      }
      const outcome = await sendOne(item);
      if (outcome === 'sent') sent += 1;
      if (outcome === 'later' && item.notBefore > Date.now()) wakeAt = Math.min(wakeAt ?? Infinity, item.notBefore);
      else if (outcome === 'offline' || outcome === 'later') unsettled = true;
      if (outcome === 'offline' || outcome === 'unauthorized') break;
    }
    // A request that got no answer while the browser says it is online (a flaky signal, a lost
    // answer): try again soon, backing off, rather than wait for the next `online` event.
    clearTimeout(retryTimer);
    retryTimer = null;
    if (unsettled && navigator.onLine) {
      retryTimer = setTimeout(flush, retryDelayMs);
      retryDelayMs = Math.min(retryDelayMs * 2, MAX_RETRY_MS);
    } else {
      if (!unsettled) retryDelayMs = FIRST_RETRY_MS;
      if (wakeAt !== null) retryTimer = setTimeout(flush, Math.max(1000, wakeAt - Date.now()));
    }
    options.changed?.();
    emit('outbox');
    options.flushed?.(sent);
    return sent;
  }

  function flush() {
    if (!flushing) {
      flushing = (navigator.locks ? navigator.locks.request(lock, runFlush) : runFlush())
        .finally(() => { flushing = null; });
    }
    return flushing;
  }

  const outbox = {
    store,
    flush,
    async add(item) {
      await save({ createdAt: Date.now(), state: 'queued', tries: 0, error: null, ...item });
      options.changed?.();
      emit('outbox');
    },
    get: (key) => read((s) => s.get(key)),
    all: () => read((s) => s.getAll()),
    async remove(key) {
      await write((s) => s.delete(key));
      options.changed?.();
      emit('outbox');
    },
    // What waits to be sent: refused items wait for the worker, not for the network.
    async pending() {
      return (await read((s) => s.getAll())).filter((item) => item.state !== 'rejected').length;
    },
  };
  outboxes.push(outbox);
  return outbox;
}

// Every outbox at once: at start, on reconnecting, after a sign-in.
export function flushAll() {
  return Promise.all(outboxes.map((outbox) => outbox.flush()));
}

export async function pendingAll() {
  const counts = await Promise.all(outboxes.map((outbox) => outbox.pending()));
  return counts.reduce((a, b) => a + b, 0);
}

// Whatever still waits goes every 20 s while the server can be reached.
let ticking = false;
export function startOutboxes() {
  if (ticking) return;
  ticking = true;
  setInterval(() => {
    if (!serverUsable()) return;
    for (const outbox of outboxes) outbox.pending().then((n) => n && outbox.flush());
  }, FLUSH_EVERY_MS);
}
