// "Hand over to 211": consent first, then needs, urgency, callback (or anonymous); then
// POST /v1/handoffs, and the handoff's status as the navigator moves it.
//
// Exactly once, with or without a network: a tap goes through the handoffs' outbox (outbox.js
// says how): its own Idempotency-Key made at tap time, sent whenever the server can be reached,
// the same key and body on every retry, gone from the outbox on a 2xx. 400/422 mean the request
// itself is wrong: the form gets every field back with the server's message next to the one at
// fault, and the item is no longer counted as waiting.
//
// The form forgives: what the worker typed lives in `form` and survives every re-render, a
// language change and a refusal. The label of a handoff (e.g. "Queen St, 2 a.m.") stays on
// this phone: it is never sent, and it is not the person's name unless the worker writes it.
import { parsePhoneNumberFromString } from 'libphonenumber-js/min';
import { authHeaders } from './api.js';
import { claims } from './auth.js';
import { done, transaction } from './db.js';
import { categoryLabel, formatClock, formatDateTime, lang, t } from './i18n.js';
import { createOutbox, mine, problemErrors } from './outbox.js';
import { serverUsable, state } from './state.js';
import { $, h, replace, toast, uuid4 } from './ui.js';

export const SCRIPT_VERSION = 'fieldnav-web-2026.1';
const FINAL = new Set(['rejected', 'completed', 'failed', 'cancelled', 'entered-in-error']);
const PHONE_REGION = 'CA'; // as the server's FIELDNAV_HANDOFF_PHONE_REGION default
const LANGUAGES = ['en', 'fr', 'es', 'ar', 'zh', 'pt', 'ta', 'uk'];

// Which form field a server error names (`errors[].field`), for showing it in the right place.
const FIELD_OF = [
  [/^body\.contact\.phone/, 'phone'],
  [/^body\.needs\.note/, 'note'],
  [/^body\.needs/, 'needs'],
  [/^body\.consent/, 'consent'],
  [/^body\.contact/, 'callback'],
  [/^body\.language/, 'language'],
];

function emptyForm() {
  return {
    consent: null, needs: new Set(), suggested: [], callback: null, phone: '', note: '', urgency: 'routine',
    language: lang(), interpreter: false, attend: false, label: '', errors: {},
  };
}

let form = emptyForm();
let lastSent = null; // the answer to the last handoff sent from this form, shown above it

// --- the form ----------------------------------------------------------------------------------

export function prefill(site) {
  form.needs = new Set((site?.category_groups || []).filter((g) => state.categories.some((c) => c.code === g)).slice(0, 3));
  form.suggested = site ? [{ id: site.service_id, name: site.name }] : [];
  if (!form.needs.size && state.category) form.needs.add(state.category);
  renderForm();
}

function choice(name, value, label, checked, onchange, disabled = false) {
  return h('label', { class: 'choice' },
    h('input', { type: 'radio', name, value, checked, onchange, disabled }),
    h('span', { text: label }));
}

function fieldError(name) {
  const message = form.errors[name];
  return message ? h('p', { class: 'error field-error', id: `handoff-error-${name}`, role: 'alert', text: message }) : null;
}

const described = (name) => (form.errors[name] ? { 'aria-describedby': `handoff-error-${name}`, 'aria-invalid': 'true' } : {});

// One field's message, changed in place: re-rendering the form on a blur would swallow the
// tap that caused it (on Send, say).
function showFieldError(name, message) {
  setError(name, message);
  const input = $(`#handoff-${name}`);
  const current = $(`#handoff-error-${name}`);
  const next = fieldError(name);
  if (current && next) current.textContent = next.textContent;
  else if (current) current.remove();
  else if (next) input?.closest('label')?.after(next);
  if (input) {
    for (const [attribute, value] of Object.entries(described(name))) input.setAttribute(attribute, value);
    if (!message) { input.removeAttribute('aria-invalid'); input.removeAttribute('aria-describedby'); }
  }
}

export function renderForm() {
  const root = $('#handoff-form');
  if (!form.needs.size && state.category) form.needs.add(state.category);
  const asked = form.consent !== null; // nothing else is chosen before consent is answered
  const agreed = form.consent === 'yes';
  const steps = [
    h('p', { class: 'danger' }, h('a', { href: 'tel:911', text: t('handoff.danger') })),
    h('fieldset', { class: 'step', id: 'handoff-consent' },
      h('legend', { text: t('handoff.consent') }),
      h('p', { class: 'script', text: t('handoff.script') }),
      choice('consent', 'yes', t('handoff.consentYes'), form.consent === 'yes', () => { form.consent = 'yes'; form.callback = 'phone'; clearError('consent'); renderForm(); }),
      choice('consent', 'no', t('handoff.consentNo'), form.consent === 'no', () => { form.consent = 'no'; form.callback = 'anonymous'; clearError('consent'); renderForm(); }),
      fieldError('consent'),
      !asked && h('p', { class: 'muted', text: t('handoff.consentFirst') }),
    ),
  ];
  if (asked) {
    steps.push(
      h('fieldset', { class: 'step', id: 'handoff-needs' },
        h('legend', { text: t('handoff.needs') }),
        h('div', { class: 'need-chips' }, state.categories.map((c) => h('button', {
          type: 'button', class: 'chip', 'aria-pressed': String(form.needs.has(c.code)), dataset: { code: c.code },
          onclick: (e) => {
            if (form.needs.has(c.code)) form.needs.delete(c.code); else form.needs.add(c.code);
            e.currentTarget.setAttribute('aria-pressed', String(form.needs.has(c.code)));
            clearError('needs');
          },
          text: categoryLabel(c),
        }))),
        fieldError('needs'),
        form.suggested.length ? h('p', { class: 'muted', text: t('handoff.suggested', { name: form.suggested.map((s) => s.name).join(', ') }) }) : null,
        h('label', { class: 'field' }, h('span', { text: t('handoff.note') }),
          h('textarea', { id: 'handoff-note', rows: 2, maxlength: 500, ...described('note'), oninput: (e) => { form.note = e.target.value; } }, form.note)),
        fieldError('note'),
      ),
      h('fieldset', { class: 'step' },
        h('legend', { text: t('handoff.urgency') }),
        h('div', { class: 'segmented' },
          choice('urgency', 'routine', t('handoff.routine'), form.urgency === 'routine', () => { form.urgency = 'routine'; }),
          choice('urgency', 'urgent', t('handoff.urgent'), form.urgency === 'urgent', () => { form.urgency = 'urgent'; })),
      ),
      h('fieldset', { class: 'step', id: 'handoff-callback' },
        h('legend', { text: t('handoff.callback') }),
        agreed && choice('callback', 'phone', t('handoff.callbackPhone'), form.callback === 'phone', () => { form.callback = 'phone'; renderForm(); }),
        agreed && form.callback === 'phone' && h('label', { class: 'field' },
          h('span', { text: t('handoff.phone') }),
          h('input', {
            id: 'handoff-phone', type: 'tel', inputmode: 'tel', autocomplete: 'off', placeholder: '416 555 0199', maxlength: 40,
            value: form.phone, ...described('phone'),
            oninput: (e) => { form.phone = e.target.value; },
            onblur: () => showFieldError('phone', phoneProblem(form.phone)),
          })),
        fieldError('phone'),
        choice('callback', 'anonymous', t('handoff.anonymous'), form.callback === 'anonymous', () => { form.callback = 'anonymous'; clearError('phone'); renderForm(); }),
        fieldError('callback'),
        h('label', { class: 'field' }, h('span', { text: t('handoff.language') }),
          h('select', { id: 'handoff-language', onchange: (e) => { form.language = e.target.value; } },
            LANGUAGES.map((code) => h('option', { value: code, selected: code === form.language, text: languageOption(code) })))),
        h('label', { class: 'check' }, h('input', { id: 'handoff-interpreter', type: 'checkbox', checked: form.interpreter, onchange: (e) => { form.interpreter = e.target.checked; } }), h('span', { text: t('handoff.interpreter') })),
        agreed && h('label', { class: 'check' }, h('input', { id: 'handoff-attend', type: 'checkbox', checked: form.attend, onchange: (e) => { form.attend = e.target.checked; } }), h('span', { text: t('handoff.attend') })),
      ),
      h('fieldset', { class: 'step' },
        h('legend', { text: t('handoff.labelStep') }),
        h('label', { class: 'field' }, h('span', { text: t('handoff.label') }),
          h('input', { id: 'handoff-label', type: 'text', autocomplete: 'off', maxlength: 60, value: form.label, 'aria-describedby': 'handoff-label-help', oninput: (e) => { form.label = e.target.value; } })),
        h('p', { id: 'handoff-label-help', class: 'muted', text: t('handoff.labelHelp') }),
      ),
      h('p', { id: 'handoff-error', class: 'error', role: 'alert', hidden: !form.errors.general, text: form.errors.general || '' }),
      h('button', { id: 'handoff-send', class: 'btn btn-primary btn-large', type: 'submit', text: t('handoff.send') }),
    );
  }
  replace(root, steps);
  replace($('#handoff-result'), lastSent && sentPanel(lastSent));
}

// A language in its own name, then in the app's ("العربية · Arabic").
function languageOption(code) {
  const own = new Intl.DisplayNames([code], { type: 'language' }).of(code);
  const here = new Intl.DisplayNames([lang()], { type: 'language' }).of(code);
  const cap = (text, locale) => text.charAt(0).toLocaleUpperCase(locale) + text.slice(1);
  return own === here ? cap(own, code) : `${cap(own, code)} · ${cap(here, lang())}`;
}

function setError(name, message) {
  if (message) form.errors[name] = message;
  else delete form.errors[name];
}

function clearError(name) {
  showFieldError(name, null);
}

// null when the number can be called back, else what to fix (checked as the server checks it).
export function phoneProblem(text) {
  const value = text.trim();
  if (!value) return t('handoff.errPhone');
  const parsed = parsePhoneNumberFromString(value, PHONE_REGION);
  return parsed && parsed.isValid() ? null : t('handoff.errPhoneInvalid');
}

function validate() {
  form.errors = {};
  if (!form.consent) setError('consent', t('handoff.errConsent'));
  if (!form.needs.size) setError('needs', t('handoff.errNeeds'));
  if (form.consent === 'yes' && form.callback === 'phone') setError('phone', phoneProblem(form.phone));
  return Object.keys(form.errors).length === 0;
}

function buildBody() {
  const body = {
    needs: { groups: [...form.needs] },
    urgency: form.urgency,
    language: form.language,
    interpreter_needed: form.interpreter,
    suggested_services: form.suggested.map((s) => s.id),
  };
  const note = form.note.trim();
  if (note) body.needs.note = note;
  if (form.consent === 'yes') {
    body.consent = { type: 'verbal', scope: form.attend ? ['contact', 'location'] : ['contact'], script_version: SCRIPT_VERSION, recorded_at: new Date().toISOString() };
    if (form.callback === 'phone') body.contact = { phone: form.phone.trim() };
  }
  // Routing needs only the area: the server keeps a coarse cell unless a navigator must attend.
  if (state.origin) body.location = { lat: Number(state.origin.lat.toFixed(5)), lon: Number(state.origin.lon.toFixed(5)), navigator_must_attend: form.attend };
  return body;
}

function focusFirstError() {
  const first = ['consent', 'needs', 'note', 'phone', 'callback', 'general'].find((name) => form.errors[name]);
  const target = first && ($(`#handoff-error-${first}`) || $('#handoff-error'));
  target?.scrollIntoView({ block: 'center' });
  if (first === 'phone') $('#handoff-phone')?.focus();
}

// The form as typed, kept with the outbox item so a refusal can give it back whole.
function snapshot() {
  return { ...form, needs: [...form.needs], errors: {} };
}

function restore(saved, errors) {
  form = { ...emptyForm(), ...saved, needs: new Set(saved.needs), errors };
  renderForm();
  focusFirstError();
}

export async function submit(event) {
  event.preventDefault();
  if (!validate()) {
    renderForm();
    focusFirstError();
    return;
  }
  // The tap gets its Idempotency-Key now, once: every retry of it sends the same key.
  // `subject`: who tapped it; it is sent under that worker's sign-in only, never another's.
  const item = { key: uuid4(), body: buildBody(), form: snapshot(), label: form.label.trim(), subject: claims()?.sub ?? null };
  await outbox.add(item);
  form = emptyForm();
  lastSent = null;
  renderForm();
  await renderMine();
  if (!serverUsable()) {
    toast(state.authLost ? t('handoff.queuedSignIn') : t('handoff.queued'));
    $('#view-handoff').scrollTop = 0; // the new item is at the top of "My handoffs"
    return;
  }
  await flushOutbox();
  const after = await outbox.get(item.key);
  if (after?.state === 'rejected') await fix(after.key); // refused as typed: the form comes back whole
  else $('#view-handoff').scrollTop = 0;
}

// Put a refused item back in the form, with the server's messages by its fields.
export async function fix(key) {
  const item = await outbox.get(key);
  if (!item) return;
  await outbox.remove(key);
  restore(item.form || { needs: item.body.needs.groups }, item.fieldErrors || { general: item.error });
}

// --- the outbox (outbox.js) -----------------------------------------------------------------

const outbox = createOutbox({
  store: 'outbox',
  lock: 'fieldnav-outbox',
  url: () => '/v1/handoffs',
  // The handoff as the server took it, kept (with its label) to follow its status.
  keep: {
    store: 'handoffs',
    record: (item, created, response) => ({
      ...created, key: item.key, needs: item.body.needs.groups, anonymous: !item.body.contact, label: item.label || '',
      replayed: response.headers.get('Idempotent-Replayed') === 'true', sentAt: Date.now(),
    }),
  },
  accepted: (item, record) => {
    lastSent = record;
    renderForm();
    $('#view-handoff').scrollTop = 0; // the reference and next steps, first thing in view
    toast(t('handoff.sent', { centre: lang() === 'fr' ? record.centre?.name_fr : record.centre?.name_en }));
  },
  fieldErrors: (problem, status) => problemErrors(problem, status, fieldOf, (code) => t('error.generic', { status: code })),
  changed: () => renderMine(),
  flushed: (sent) => { if (sent) pollStatuses(); },
});

function fieldOf(path) {
  return (FIELD_OF.find(([pattern]) => pattern.test(path)) || [null, null])[1];
}

export function flushOutbox() {
  return outbox.flush();
}

export async function discard(key) {
  await outbox.remove(key);
}

// --- following the handoffs ---------------------------------------------------------------

let polling = null;

export function pollStatuses() {
  if (!polling) polling = runPoll().finally(() => { polling = null; });
  return polling;
}

async function runPoll() {
  if (!serverUsable() || !state.token) return;
  const known = await transaction(['handoffs'], 'readonly', (s) => done(s.handoffs.getAll()));
  const open = known.filter((x) => !FINAL.has(x.status));
  if (!open.length) return;
  let changed = false;
  for (const handoff of open) {
    let response;
    try {
      response = await fetch(`/v1/handoffs/${handoff.id}`, { headers: authHeaders() });
    } catch {
      return; // offline: try again at the next tick
    }
    if (!response.ok) return; // refused or ended: the next sign-in picks it up
    const current = await response.json();
    if (current.status !== handoff.status || current.version !== handoff.version) {
      changed = true;
      await transaction(['handoffs'], 'readwrite', (s) => done(s.handoffs.put({
        ...handoff, status: current.status, version: current.version, updated_at: current.updated_at,
        history: current.history, callback_window: current.contact?.callback_window ?? handoff.callback_window,
        reference: current.reference ?? handoff.reference,
      })));
    }
  }
  if (changed) await renderMine();
}

const needsText = (codes) => (codes || []).map((code) => categoryLabel(state.categories.find((c) => c.code === code) || { code, label_en: code })).join(', ');

function nextSteps(handoff) {
  const steps = handoff.next_steps;
  return steps ? (lang() === 'fr' ? steps.fr : steps.en) || steps.en : null;
}

// Just sent: what happens next, and the code to read out to the person.
function sentPanel(handoff) {
  const centre = handoff.centre || {};
  return h('section', { class: 'sent card', id: 'handoff-sent', 'aria-labelledby': 'handoff-sent-title' },
    h('h3', { id: 'handoff-sent-title', text: t('handoff.sentTitle', { centre: (lang() === 'fr' ? centre.name_fr : centre.name_en) || '211' }) }),
    handoff.reference && h('p', { class: 'reference' }, h('span', { text: t('handoff.reference') }), ' ',
      h('strong', { id: 'handoff-reference', text: handoff.reference })),
    handoff.reference && h('p', { class: 'muted', text: t('handoff.referenceHelp') }),
    nextSteps(handoff) && h('p', { id: 'handoff-next-steps', text: nextSteps(handoff) }),
    handoff.navigator_line && h('a', { class: 'btn btn-call', href: handoff.navigator_line, text: t('handoff.line') }),
  );
}

function statusItem(handoff) {
  const centre = handoff.centre || {};
  const window = handoff.callback_window;
  return h('li', { class: `handoff status-${handoff.status}`, dataset: { handoffId: handoff.id, status: handoff.status } },
    h('div', { class: 'handoff-head' },
      h('strong', { class: 'handoff-status', text: t(`status.${handoff.status}`) }),
      h('span', { class: `badge urgency-${handoff.urgency}`, text: t(`urgency.${handoff.urgency}`) })),
    h('p', { class: 'handoff-what' },
      handoff.label && h('strong', { class: 'handoff-label', text: `${handoff.label} · ` }),
      h('span', { class: 'handoff-needs', text: needsText(handoff.needs) })),
    h('p', { class: 'muted', text: [handoff.reference && t('handoff.referenceShort', { code: handoff.reference }), formatDateTime(handoff.created_at)].filter(Boolean).join(' · ') }),
    window && !FINAL.has(handoff.status) && h('p', { text: t('handoff.window', { time: formatClock(window.latest, centre.timezone || 'America/Toronto') }) }),
    handoff.anonymous && h('p', { class: 'muted', text: t('handoff.anonymousShort') }),
    handoff.navigator_line && h('p', {}, h('a', { class: 'btn btn-call', href: handoff.navigator_line, text: `${t('handoff.line')}: ${lang() === 'fr' ? centre.name_fr || centre.name_en : centre.name_en || ''}` })),
  );
}

function outboxItem(item) {
  const text = item.state === 'rejected' ? t('handoff.needsFix') : item.state === 'sending' ? t('handoff.sending')
    : !mine(item) ? t('handoff.waitingFor', { subject: item.subject })
      : state.authLost ? t('handoff.waitingSignIn') : t('handoff.waiting');
  return h('li', { class: `handoff outbox state-${item.state}`, dataset: { key: item.key, state: item.state } },
    h('div', { class: 'handoff-head' },
      h('strong', { class: 'handoff-status', text }),
      h('span', { class: `badge urgency-${item.body.urgency}`, text: t(`urgency.${item.body.urgency}`) })),
    h('p', { class: 'handoff-what' },
      item.label && h('strong', { class: 'handoff-label', text: `${item.label} · ` }),
      h('span', { class: 'handoff-needs', text: needsText(item.body.needs.groups) })),
    h('p', { class: 'muted', text: formatDateTime(item.createdAt) }),
    item.state === 'rejected' && h('p', { class: 'error', text: item.error }),
    item.state === 'rejected' && h('div', { class: 'row' },
      h('button', { class: 'btn btn-primary', type: 'button', onclick: () => fix(item.key), text: t('handoff.fix') }),
      h('button', { class: 'btn', type: 'button', onclick: () => discard(item.key), text: t('handoff.discard') })),
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
  list.dataset.queued = String(queued.filter((item) => item.state !== 'rejected').length);
  list.dataset.sent = String(sent.length);
}

export function initHandoff() {
  $('#handoff-form').addEventListener('submit', submit);
  renderForm();
  renderMine();
  setInterval(() => { if (serverUsable() && document.visibilityState === 'visible') pollStatuses(); }, 4_000);
}
