// "Report wrong information" on a service's card: what is wrong (closed for good, closed
// today, full, wrong phone, wrong address, wrong hours, moved, something else), an optional
// note (no personal data: it goes to the 211 data team) and, only if the worker turns it on,
// their location. POST /v1/services/{id}/reports.
//
// Exactly once, with or without a network: a report goes through the reports' outbox
// (outbox.js says how), with its own Idempotency-Key made at tap time. 201, or 409
// `report-exists` (this worker has an open report of that kind already: the 211 team has it),
// takes it out of the outbox. A 4xx refusal (422: the note too long...) gives the form back
// whole with the server's messages by field; 429 (too many reports) and 5xx keep it queued.
import { claims } from './auth.js';
import { REPORT_KINDS } from './capacity.js';
import { t } from './i18n.js';
import { createOutbox, mine, problemErrors } from './outbox.js';
import { emit, serverUsable, state } from './state.js';
import { $, h, replace, toast, uuid4 } from './ui.js';

export const NOTE_MAX = 500;
// Who may report (the server's REPORTER policy); providers and admins do not see the button.
const REPORTERS = new Set(['field_worker', 'supervisor', 'navigator']);

const FIELD_OF = [
  [/^body\.kind/, 'kind'],
  [/^body\.note/, 'note'],
  [/^body\.location/, 'location'],
];

const outbox = createOutbox({
  store: 'reports',
  lock: 'fieldnav-reports',
  url: (item) => `/v1/services/${encodeURIComponent(item.serviceId)}/reports`,
  alreadyDone: (status, problem) => status === 409 && Boolean(problem?.type?.endsWith('/report-exists')),
  accepted: (item, created, response, { already }) => {
    toast(already ? t('report.already') : t('report.sent'));
    emit('reports-changed', item.serviceId);
  },
  fieldErrors: (problem, status) => problemErrors(problem, status, fieldOf, (code) => t('error.generic', { status: code })),
  // Refused after the form was closed (sent when the network came back): say where to fix it.
  refused: (item) => { if (item.key !== foreground) toast(t('report.refusedLater', { name: item.siteName || '' }), 'error'); },
  changed: () => emit('reports-changed', null),
});

let foreground = null; // the report just tapped, while the app sends it (its form comes back on a refusal)

function fieldOf(path) {
  return (FIELD_OF.find(([pattern]) => pattern.test(path)) || [null, null])[1];
}

export function flushReports() {
  return outbox.flush();
}

export function mayReport() {
  const role = state.me?.role || claims()?.role;
  return !role || REPORTERS.has(role);
}

// This worker's reports about a service that have not reached the server (waiting, or refused).
export async function reportsWaitingFor(serviceId) {
  const items = await outbox.all();
  return items.filter((item) => item.serviceId === serviceId && mine(item)).sort((a, b) => a.createdAt - b.createdAt);
}

export async function discardReport(key) {
  await outbox.remove(key);
}

// --- the form -------------------------------------------------------------------------------------

let form = null; // {serviceId, siteName, kind, note, includeLocation, errors}
let opener = null; // the button that opened the form: focus goes back to it

function emptyForm(site) {
  return { serviceId: site.service_id, siteName: site.name, kind: null, note: '', includeLocation: false, errors: {} };
}

// Where the worker stands, when the phone knows (a chosen place is not the worker's location).
function ownLocation() {
  const origin = state.origin;
  return origin && origin.source === 'device' ? { lat: Number(origin.lat.toFixed(5)), lon: Number(origin.lon.toFixed(5)) } : null;
}

export function openReport(site, { from = null, restore = null } = {}) {
  opener = from || document.activeElement;
  form = restore || emptyForm(site);
  renderReport();
  $('#report').hidden = false;
  $('#report').scrollTop = 0;
  const first = firstError();
  (first ? $(`#report-error-${first}`) : $('#report-title'))?.focus();
}

export function closeReport() {
  const view = $('#report');
  if (view.hidden) return;
  view.hidden = true;
  form = null;
  if (opener?.isConnected) opener.focus();
}

function firstError() {
  return form && ['kind', 'note', 'location', 'general'].find((name) => form.errors[name]);
}

function fieldError(name) {
  const message = form.errors[name];
  return message ? h('p', { class: 'error field-error', id: `report-error-${name}`, role: 'alert', tabindex: '-1', text: message }) : null;
}

function counterText() {
  return t('report.noteCount', { n: form.note.length, max: NOTE_MAX });
}

export function renderReport() {
  if (!form) return;
  const located = ownLocation();
  const invalid = (name) => (form.errors[name] ? { 'aria-invalid': 'true' } : {});
  replace($('#report-body'),
    h('h2', { id: 'report-title', tabindex: '-1', text: t('report.title') }),
    h('p', { class: 'report-site', text: form.siteName }),
    h('form', { id: 'report-form', novalidate: true, onsubmit: submit },
      h('fieldset', {
        class: 'step report-kinds', id: 'report-kind',
        ...(form.errors.kind ? { 'aria-describedby': 'report-error-kind' } : {}),
      },
      h('legend', { text: t('report.kind') }),
      REPORT_KINDS.map((kind) => h('label', { class: 'choice report-kind', dataset: { kind } },
        h('input', {
          type: 'radio', name: 'report-kind', value: kind, checked: form.kind === kind, ...invalid('kind'),
          onchange: () => { form.kind = kind; clearError('kind'); },
        }),
        h('span', { text: t(`report.kind.${kind}`) }))),
      fieldError('kind')),
      h('div', { class: 'step' },
        h('label', { class: 'field', for: 'report-note' }, h('span', { text: t('report.note') })),
        h('textarea', {
          id: 'report-note', rows: 3, maxlength: NOTE_MAX, 'aria-describedby': 'report-privacy report-note-count', ...invalid('note'),
          oninput: (e) => { form.note = e.target.value; $('#report-note-count').textContent = counterText(); },
        }, form.note),
        h('p', { id: 'report-note-count', class: 'muted note-count', text: counterText() }),
        h('p', { id: 'report-privacy', class: 'privacy-note' },
          h('strong', { text: t('report.privacyTitle') }), ' ', t('report.privacy')),
        fieldError('note'),
        h('label', { class: 'check' },
          h('input', {
            id: 'report-location', type: 'checkbox', checked: Boolean(form.includeLocation && located), disabled: !located,
            'aria-describedby': 'report-location-help', ...invalid('location'),
            onchange: (e) => { form.includeLocation = e.target.checked; },
          }),
          h('span', { text: t('report.location') })),
        h('p', { id: 'report-location-help', class: 'muted', text: located ? t('report.locationHelp') : t('report.locationUnknown') }),
        fieldError('location')),
      fieldError('general'),
      h('button', { id: 'report-send', class: 'btn btn-primary btn-large', type: 'submit', text: t('report.send') }),
      h('button', { id: 'report-cancel', class: 'btn btn-large', type: 'button', onclick: closeReport, text: t('report.cancel') }),
    ),
  );
}

function clearError(name) {
  if (!form?.errors[name]) return;
  delete form.errors[name];
  $(`#report-error-${name}`)?.remove();
  for (const input of document.querySelectorAll('#report-form [aria-invalid]')) {
    if ((name === 'kind' && input.name === 'report-kind') || input.id === `report-${name}`) input.removeAttribute('aria-invalid');
  }
  if (name === 'kind') $('#report-kind')?.removeAttribute('aria-describedby');
}

function buildBody() {
  const body = { kind: form.kind };
  const note = form.note.trim();
  if (note) body.note = note;
  const located = ownLocation();
  if (form.includeLocation && located) body.location = located;
  return body;
}

async function submit(event) {
  event.preventDefault();
  if (!form.kind) {
    form.errors = { kind: t('report.errKind') };
    renderReport();
    $('#report-error-kind')?.focus();
    return;
  }
  // The tap gets its Idempotency-Key now, once: every retry of it sends the same key.
  const item = {
    key: uuid4(), serviceId: form.serviceId, siteName: form.siteName, body: buildBody(),
    form: { ...form, errors: {} }, subject: claims()?.sub ?? null,
  };
  await outbox.add(item);
  closeReport();
  if (!serverUsable()) {
    toast(state.authLost ? t('report.queuedSignIn') : t('report.queued'));
    return;
  }
  foreground = item.key;
  try {
    await outbox.flush();
  } finally {
    foreground = null;
  }
  const after = await outbox.get(item.key);
  if (after?.state === 'rejected') await correctReport(after.key); // refused as typed: the form comes back whole
}

// A refused report back in its form, with the server's messages by its fields.
export async function correctReport(key) {
  const item = await outbox.get(key);
  if (!item) return;
  await outbox.remove(key);
  openReport({ service_id: item.serviceId, name: item.siteName }, {
    restore: { ...item.form, errors: item.fieldErrors || { general: item.error } },
  });
}

export function initReport() {
  $('#report-back').addEventListener('click', closeReport);
  $('#report').addEventListener('keydown', (event) => { if (event.key === 'Escape') closeReport(); });
}
