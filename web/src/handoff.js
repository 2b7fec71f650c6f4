// "Hand over to 211": consent, needs, urgency, callback (or anonymous), then POST /v1/handoffs.
//
// Exactly once, with or without a network: a tap is first written to the outbox (IndexedDB)
// with its own Idempotency-Key, made once, at tap time. The outbox is sent whenever the
// network is there (at once, on the `online` event, at start, and every 20 s while anything
// waits); every retry of an item sends the same key and body, so the server creates one
// handoff however many times the request (or its answer) is lost. An item leaves the outbox
// only on a 2xx answer (a replayed answer is one); 409 (the same key still in flight) and
// 429/503 wait for Retry-After and try again; 400/422 are kept, shown, and may be discarded.
// Then the app follows the handoff's status (GET /v1/handoffs) as the navigator moves it.
import { api, authHeaders, retryAfterSeconds } from './api.js';
import { done, transaction } from './db.js';
import { categoryLabel, formatClock, formatDateTime, lang, t } from './i18n.js';
import { state, emit } from './state.js';
import { $, h, replace, sleep, toast, uuid4 } from './ui.js';

export const SCRIPT_VERSION = 'fieldnav-web-2026.1';
const FINAL = new Set(['rejected', 'completed', 'failed', 'cancelled', 'entered-in-error']);
const MAX_TRIES_PER_FLUSH = 6;
const MAX_WAIT_S = 30;

let form = { consent: null, needs: new Set(), suggested: [], callback: 'phone' };

// --- the form ----------------------------------------------------------------------------------

export function prefill(site) {
  form = { ...form, needs: new Set((site?.category_groups || []).filter((g) => state.categories.some((c) => c.code === g)).slice(0, 3)), suggested: site ? [{ id: site.service_id, name: site.name }] : [] };
  if (!form.needs.size && state.category) form.needs.add(state.category);
  renderForm();
}

function choice(name, value, label, checked, onchange) {
  return h('label', { class: 'choice' },
    h('input', { type: 'radio', name, value, checked, onchange }),
    h('span', { text: label }));
}

export function renderForm() {
  const root = $('#handoff-form');
  if (!form.needs.size && state.category) form.needs.add(state.category);
  const consentGiven = form.consent === 'yes';
  if (!consentGiven) form.callback = 'anonymous';
  replace(root,
    h('p', { class: 'danger' }, h('a', { href: 'tel:911', text: t('handoff.danger') })),
    h('fieldset', { class: 'step' },
      h('legend', { text: t('handoff.consent') }),
      h('blockquote', { class: 'script', text: t('handoff.script') }),
      choice('consent', 'yes', t('handoff.consentYes'), form.consent === 'yes', () => { form.consent = 'yes'; form.callback = 'phone'; renderForm(); }),
      choice('consent', 'no', t('handoff.consentNo'), form.consent === 'no', () => { form.consent = 'no'; renderForm(); }),
    ),
    h('fieldset', { class: 'step' },
      h('legend', { text: t('handoff.needs') }),
      h('div', { class: 'need-chips' }, state.categories.map((c) => h('button', {
        type: 'button', class: 'chip', 'aria-pressed': String(form.needs.has(c.code)), dataset: { code: c.code },
        onclick: (e) => { form.needs.has(c.code) ? form.needs.delete(c.code) : form.needs.add(c.code); e.currentTarget.setAttribute('aria-pressed', String(form.needs.has(c.code))); },
        text: categoryLabel(c),
      }))),
      form.suggested.length ? h('p', { class: 'muted', text: t('handoff.suggested', { name: form.suggested.map((s) => s.name).join(', ') }) }) : null,
      h('label', { class: 'field' }, h('span', { text: t('handoff.note') }), h('textarea', { id: 'handoff-note', rows: 2, maxlength: 500 })),
    ),
    h('fieldset', { class: 'step' },
      h('legend', { text: t('handoff.urgency') }),
      h('div', { class: 'segmented' },
        choice('urgency', 'routine', t('handoff.routine'), true),
        choice('urgency', 'urgent', t('handoff.urgent'), false)),
    ),
    h('fieldset', { class: 'step' },
      h('legend', { text: t('handoff.callback') }),
      consentGiven && choice('callback', 'phone', t('handoff.callbackPhone'), form.callback === 'phone', () => { form.callback = 'phone'; renderForm(); }),
      consentGiven && form.callback === 'phone' && h('label', { class: 'field' },
        h('span', { text: t('handoff.phone') }),
        h('input', { id: 'handoff-phone', type: 'tel', inputmode: 'tel', autocomplete: 'off', placeholder: '416 555 0199', maxlength: 40 })),
      choice('callback', 'anonymous', t('handoff.anonymous'), form.callback === 'anonymous', () => { form.callback = 'anonymous'; renderForm(); }),
      h('label', { class: 'field' }, h('span', { text: t('handoff.language') }),
        h('select', { id: 'handoff-language' },
          [['en', 'English'], ['fr', 'Français'], ['es', 'Español'], ['ar', 'العربية'], ['zh', '中文'], ['pt', 'Português'], ['ta', 'தமிழ்'], ['uk', 'Українська']]
            .map(([code, name]) => h('option', { value: code, selected: code === lang(), text: name })))),
      h('label', { class: 'check' }, h('input', { id: 'handoff-interpreter', type: 'checkbox' }), h('span', { text: t('handoff.interpreter') })),
      consentGiven && h('label', { class: 'check' }, h('input', { id: 'handoff-attend', type: 'checkbox' }), h('span', { text: t('handoff.attend') })),
    ),
    h('p', { id: 'handoff-error', class: 'error', role: 'alert', hidden: true }),
    h('button', { id: 'handoff-send', class: 'btn btn-primary btn-large', type: 'submit', text: t('handoff.send') }),
  );
}

function formError(text) {
  const el = $('#handoff-error');
  el.textContent = text;
  el.hidden = false;
  el.scrollIntoView({ block: 'center' });
}

function buildBody() {
  if (!form.consent) return formError(t('handoff.errConsent'));
  if (!form.needs.size) return formError(t('handoff.errNeeds'));
  const phone = $('#handoff-phone')?.value.trim();
  if (form.consent === 'yes' && form.callback === 'phone' && !phone) return formError(t('handoff.errPhone'));
  const attend = $('#handoff-attend')?.checked || false;
  const body = {
    needs: { groups: [...form.needs] },
    urgency: $('input[name="urgency"]:checked', $('#handoff-form'))?.value || 'routine',
    language: $('#handoff-language').value,
    interpreter_needed: $('#handoff-interpreter').checked,
    suggested_services: form.suggested.map((s) => s.id),
  };
  const note = $('#handoff-note').value.trim();
  if (note) body.needs.note = note;
  if (form.consent === 'yes') {
    body.consent = { type: 'verbal', scope: attend ? ['contact', 'location'] : ['contact'], script_version: SCRIPT_VERSION, recorded_at: new Date().toISOString() };
    if (form.callback === 'phone') body.contact = { phone };
  }
  // Routing needs only the area: the server keeps a coarse cell unless a navigator must attend.
  if (state.origin) body.location = { lat: Number(state.origin.lat.toFixed(5)), lon: Number(state.origin.lon.toFixed(5)), navigator_must_attend: attend };
  return body;
}

export async function submit(event) {
  event.preventDefault();
  $('#handoff-error').hidden = true;
  const body = buildBody();
  if (!body) return;
  // The tap gets its Idempotency-Key now, once: every retry of it sends the same key.
  const item = { key: uuid4(), body, createdAt: Date.now(), state: 'queued', tries: 0, error: null };
  await transaction(['outbox'], 'readwrite', (s) => done(s.outbox.put(item)));
  form = { consent: null, needs: new Set(), suggested: [], callback: 'phone' };
  renderForm();
  await renderMine();
  $('#view-handoff').scrollTop = 0; // the new item is at the top of "My handoffs"
  emit('outbox');
  if (state.online) {
    flushOutbox();
  } else {
    toast(t('handoff.queued'));
  }
}

// --- the outbox ----------------------------------------------------------------------------

let flushing = null;

export function flushOutbox() {
  if (!flushing) {
    flushing = (navigator.locks ? navigator.locks.request('fieldnav-outbox', runFlush) : runFlush())
      .finally(() => { flushing = null; });
  }
  return flushing;
}

async function updateItem(item) {
  await transaction(['outbox'], 'readwrite', (s) => done(s.outbox.put(item)));
}

// A request that got no answer while the browser says it is online (a flaky signal, a lost
// answer): try again soon, backing off, rather than wait for the next `online` event.
let retryTimer = null;
let retryDelayMs = 2000;

async function runFlush() {
  const items = (await transaction(['outbox'], 'readonly', (s) => done(s.outbox.getAll()))).sort((a, b) => a.createdAt - b.createdAt);
  let sent = 0;
  let unsettled = false;
  for (const item of items) {
    if (item.state === 'rejected') continue;
    const outcome = await sendOne(item);
    if (outcome === 'sent') sent += 1;
    if (outcome === 'offline' || outcome === 'later') unsettled = true;
    if (outcome === 'offline' || outcome === 'unauthorized') break;
  }
  clearTimeout(retryTimer);
  if (unsettled && navigator.onLine) {
    retryTimer = setTimeout(flushOutbox, retryDelayMs);
    retryDelayMs = Math.min(retryDelayMs * 2, 60_000);
  } else if (!unsettled) {
    retryDelayMs = 2000;
  }
  await renderMine();
  emit('outbox');
  if (sent) pollStatuses();
  return sent;
}

async function sendOne(item) {
  for (let attempt = 0; attempt < MAX_TRIES_PER_FLUSH; attempt++) {
    item.tries += 1;
    item.state = 'sending';
    await updateItem(item);
    renderMine();
    let response;
    try {
      response = await fetch('/v1/handoffs', {
        method: 'POST',
        headers: authHeaders({ 'Content-Type': 'application/json', 'Idempotency-Key': item.key }),
        body: JSON.stringify(item.body),
      });
    } catch {
      item.state = 'queued';
      await updateItem(item);
      return 'offline'; // no answer: the server may or may not have it; the same key settles it
    }
    if (response.ok) {
      const created = await response.json();
      const record = {
        ...created, key: item.key, needs: item.body.needs.groups, anonymous: !item.body.contact,
        replayed: response.headers.get('Idempotent-Replayed') === 'true', sentAt: Date.now(),
      };
      await transaction(['outbox', 'handoffs'], 'readwrite', async (s) => {
        await done(s.handoffs.put(record));
        await done(s.outbox.delete(item.key));
      });
      toast(t('handoff.sent', { centre: lang() === 'fr' ? created.centre?.name_fr : created.centre?.name_en }));
      return 'sent';
    }
    let problem = null;
    try {
      problem = await response.json();
    } catch {
      problem = null;
    }
    if (response.status === 401) {
      item.state = 'queued';
      item.error = t('handoff.signin');
      await updateItem(item);
      emit('unauthorized');
      return 'unauthorized';
    }
    if ([409, 429, 503].includes(response.status)) {
      // 409: this very key is still being processed; wait as told and ask again.
      await sleep(Math.min(retryAfterSeconds(response, 1), MAX_WAIT_S) * 1000);
      continue;
    }
    if (response.status >= 400 && response.status < 500) {
      item.state = 'rejected';
      item.error = problem?.detail || `HTTP ${response.status}`;
      await updateItem(item);
      return 'rejected';
    }
    await sleep(Math.min(2 ** attempt, MAX_WAIT_S) * 1000); // 5xx: back off
  }
  item.state = 'queued';
  await updateItem(item);
  return 'later';
}

export async function discard(key) {
  await transaction(['outbox'], 'readwrite', (s) => done(s.outbox.delete(key)));
  await renderMine();
  emit('outbox');
}

export async function pendingCount() {
  return transaction(['outbox'], 'readonly', (s) => done(s.outbox.count()));
}

// --- following the handoffs ---------------------------------------------------------------

let polling = null;

export function pollStatuses() {
  if (!polling) polling = runPoll().finally(() => { polling = null; });
  return polling;
}

async function runPoll() {
  if (!state.online || !state.token) return;
  const known = await transaction(['handoffs'], 'readonly', (s) => done(s.handoffs.getAll()));
  const open = known.filter((x) => !FINAL.has(x.status));
  if (!open.length) return;
  let changed = false;
  for (const handoff of open) {
    let current;
    try {
      current = await api(`/v1/handoffs/${handoff.id}`);
    } catch {
      return; // offline or refused: try again at the next tick
    }
    if (current.status !== handoff.status || current.version !== handoff.version) {
      changed = true;
      await transaction(['handoffs'], 'readwrite', (s) => done(s.handoffs.put({
        ...handoff, status: current.status, version: current.version, updated_at: current.updated_at,
        history: current.history, callback_window: current.contact?.callback_window ?? handoff.callback_window,
      })));
    }
  }
  if (changed) await renderMine();
}

function statusItem(handoff) {
  const centre = handoff.centre || {};
  const window = handoff.callback_window;
  return h('li', { class: `handoff status-${handoff.status}`, dataset: { handoffId: handoff.id, status: handoff.status } },
    h('div', { class: 'handoff-head' },
      h('strong', { class: 'handoff-status', text: t(`status.${handoff.status}`) }),
      h('span', { class: `badge urgency-${handoff.urgency}`, text: t(`urgency.${handoff.urgency}`) })),
    h('p', { class: 'muted', text: [(handoff.needs || []).map((code) => categoryLabel(state.categories.find((c) => c.code === code) || { code, label_en: code })).join(', '), formatDateTime(handoff.created_at)].filter(Boolean).join(' · ') }),
    window && !FINAL.has(handoff.status) && h('p', { text: t('handoff.window', { time: formatClock(window.latest, centre.timezone || 'America/Toronto') }) }),
    handoff.anonymous && h('p', { class: 'muted', text: t('handoff.anonymousShort') }),
    handoff.navigator_line && h('p', {}, h('a', { class: 'btn btn-call', href: handoff.navigator_line, text: `${t('handoff.line')}: ${lang() === 'fr' ? centre.name_fr || centre.name_en : centre.name_en || ''}` })),
  );
}

function outboxItem(item) {
  const text = item.state === 'rejected' ? t('handoff.rejected', { detail: item.error }) : item.state === 'sending' ? t('handoff.sending') : t('handoff.waiting');
  return h('li', { class: `handoff outbox state-${item.state}`, dataset: { key: item.key, state: item.state } },
    h('div', { class: 'handoff-head' },
      h('strong', { class: 'handoff-status', text }),
      h('span', { class: `badge urgency-${item.body.urgency}`, text: t(`urgency.${item.body.urgency}`) })),
    h('p', { class: 'muted', text: [item.body.needs.groups.map((code) => categoryLabel(state.categories.find((c) => c.code === code) || { code, label_en: code })).join(', '), formatDateTime(item.createdAt)].join(' · ') }),
    item.error && item.state !== 'rejected' && h('p', { class: 'error', text: item.error }),
    item.state === 'rejected' && h('button', { class: 'btn', type: 'button', onclick: () => discard(item.key), text: t('handoff.discard') }),
  );
}

export async function renderMine() {
  const [queued, sent] = await transaction(['outbox', 'handoffs'], 'readonly', async (s) => [await done(s.outbox.getAll()), await done(s.handoffs.getAll())]);
  queued.sort((a, b) => b.createdAt - a.createdAt);
  sent.sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
  const list = $('#handoff-list');
  if (!queued.length && !sent.length) {
    replace(list, h('li', { class: 'empty', text: t('handoff.none') }));
  } else {
    replace(list, queued.map(outboxItem), sent.map(statusItem));
  }
  list.dataset.queued = String(queued.length);
  list.dataset.sent = String(sent.length);
}

export function initHandoff() {
  $('#handoff-form').addEventListener('submit', submit);
  renderForm();
  renderMine();
  setInterval(() => { if (state.online) pendingCount().then((n) => n && flushOutbox()); }, 20_000);
  setInterval(() => { if (state.online && document.visibilityState === 'visible') pollStatuses(); }, 4_000);
}

