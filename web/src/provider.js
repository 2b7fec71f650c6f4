// The provider view: a service provider's staff (a shelter's front desk at night) update the
// free counts of their own services, and see what field workers reported about them. Shown
// instead of the map when the signed-in role is `provider` (main.js): a provider may not read
// the directory, tiles or sync (403), so none of the field worker's app is loaded.
//
//   GET /v1/provider/services    the services this account may update, with their counts and
//                                open field reports (kept on the phone: shown offline, dated)
//   PUT /v1/services/{id}/capacity   {capacities: [{unit, available, maximum}]}
//
// Open the app, +, Save. A change gets its Idempotency-Key when it is made: Save sends it, and
// Save again after no answer (or the server's 503 `directory-busy`, retried by itself after
// Retry-After) sends the same key and body, so a count is never applied twice; the next change
// gets a new key. The server's refusals are shown in the app's language, by the count at fault.
import { ApiError, NetworkError, api } from './api.js';
import { claims } from './auth.js';
import { capacityBadge, isStale, reportWarning } from './capacity.js';
import { getMeta, setMeta } from './db.js';
import { formatAge, formatDateTime, roleLabel, t, unitName } from './i18n.js';
import { serverUsable, state } from './state.js';
import { $, h, replace, sleep, uuid4 } from './ui.js';

const MAX_COUNT = 100_000; // as the API's
const BUSY_TRIES = 5;
const MAX_WAIT_S = 30;
const REFRESH_EVERY_MS = 2 * 60_000;

let data = null; // {services, units, stale_after_s, loadedAt, fromPhone}
let loadError = null;
// Per service: {counts: {unit: {available, maximum}}, key, status, errors: {unit | general}, savedAt, waitS}
const drafts = new Map();

function draftOf(serviceId) {
  if (!drafts.has(serviceId)) drafts.set(serviceId, { counts: {}, key: null, status: 'idle', errors: {}, savedAt: null });
  return drafts.get(serviceId);
}

function serviceById(serviceId) {
  return data?.services.find((s) => s.service_id === serviceId) || null;
}

// The counts shown now (the server's), and the units the provider added on this phone.
function unitsOf(service) {
  const draft = draftOf(service.service_id);
  const units = service.capacities.map((c) => c.unit);
  for (const unit of Object.keys(draft.counts)) if (!units.includes(unit)) units.push(unit);
  return units;
}

function shownCount(service, unit) {
  return service.capacities.find((c) => c.unit === unit) || null;
}

// What the field shows for this unit right now, or what the provider has typed.
function currentValue(service, unit) {
  const draft = draftOf(service.service_id);
  if (unit in draft.counts) return draft.counts[unit].available;
  return shownCount(service, unit)?.available ?? 0;
}

function maximumOf(service, unit) {
  const draft = draftOf(service.service_id);
  return draft.counts[unit]?.maximum ?? shownCount(service, unit)?.maximum ?? null;
}

function changed(service) {
  const draft = draftOf(service.service_id);
  return Object.entries(draft.counts).some(([unit, value]) => {
    const shown = shownCount(service, unit);
    return !shown || shown.available !== value.available;
  });
}

// --- loading --------------------------------------------------------------------------------------

export async function loadProvider() {
  if (serverUsable()) {
    try {
      const answer = await api('/v1/provider/services');
      data = { ...answer, loadedAt: Date.now(), fromPhone: false };
      loadError = null;
      settleDrafts();
      // Kept: the list opens offline, dated, and says saving needs the network.
      await setMeta('providerServices', { ...answer, loadedAt: data.loadedAt, subject: claims()?.sub ?? null });
      renderProvider();
      return;
    } catch (error) {
      if (!(error instanceof NetworkError || (error instanceof ApiError && (error.status >= 500 || error.status === 401)))) {
        loadError = error.message;
      }
    }
  }
  const kept = await getMeta('providerServices');
  if (kept && (!kept.subject || kept.subject === claims()?.sub)) data = { ...kept, fromPhone: true };
  renderProvider();
}

// A change the server now shows (a Save whose answer was lost, then read again) is done.
function settleDrafts() {
  for (const [serviceId, draft] of drafts) {
    const service = serviceById(serviceId);
    if (!service || draft.status === 'saving' || draft.status === 'busy' || !Object.keys(draft.counts).length) continue;
    if (!changed(service)) {
      draft.counts = {};
      draft.key = null;
      draft.errors = {};
      draft.status = 'idle';
    }
  }
}

// --- rendering --------------------------------------------------------------------------------------

function stepButton(service, unit, delta, label, symbol) {
  return h('button', {
    type: 'button', class: `btn step-button step-${delta > 0 ? 'plus' : 'minus'}`, 'aria-label': label,
    onclick: () => setCount(service, unit, currentValue(service, unit) + delta),
  }, h('span', { 'aria-hidden': 'true', text: symbol }));
}

function countRow(service, unit) {
  const id = `count-${service.service_id}-${unit}`;
  const draft = draftOf(service.service_id);
  const shown = shownCount(service, unit);
  const max = maximumOf(service, unit);
  const error = draft.errors[unit];
  const name = unitName(unit);
  const stale = shown ? isStale(shown) : false;
  return h('div', { class: 'count-row', dataset: { unit } },
    h('div', { class: 'count-head' },
      h('label', { class: 'count-label', for: id, text: t('provider.countLabel', { unit: name }) }),
      max != null && h('span', { class: 'muted count-max', text: t('provider.ofMax', { max }) })),
    h('div', { class: 'stepper' },
      stepButton(service, unit, -1, t('provider.minus', { unit: name }), '−'),
      h('input', {
        id, class: 'count-input', type: 'number', inputmode: 'numeric', min: 0, max: max ?? MAX_COUNT, step: 1,
        value: String(currentValue(service, unit)), dataset: { unit },
        ...(error ? { 'aria-invalid': 'true', 'aria-describedby': `${id}-error` } : { 'aria-describedby': `${id}-shown` }),
        oninput: (e) => typed(service, unit, e.target.value),
      }),
      stepButton(service, unit, 1, t('provider.plus', { unit: name }), '+'),
      h('button', {
        type: 'button', class: 'btn full-button', 'aria-label': t('provider.fullLabel', { unit: name }),
        onclick: () => setCount(service, unit, 0), text: t('provider.full'),
      }),
    ),
    h('p', { id: `${id}-shown`, class: 'count-shown' },
      h('span', { class: 'muted', text: `${t('provider.shown')} ` }),
      shown ? capacityBadge(shown) : h('span', { class: 'muted', text: t('provider.noCount') })),
    stale && h('p', { class: 'stale-hint', text: t('provider.staleHint') }),
    error && h('p', { id: `${id}-error`, class: 'error field-error', role: 'alert', text: error }),
  );
}

function statusText(draft) {
  switch (draft.status) {
    case 'saving': return t('provider.saving');
    case 'busy': return t('provider.busy', { s: draft.waitS });
    case 'offline': return t('provider.offlineSave');
    case 'saved': return t('provider.saved', { age: formatAge(draft.savedAt) });
    case 'error': return draft.errors.general || '';
    default: return '';
  }
}

const addingFor = new Set(); // services whose "Add another count" is open

// A count in another unit (meals besides beds): open at once for a service with no count yet,
// one tap away otherwise.
function addUnit(service) {
  const present = unitsOf(service);
  const free = (data.units || []).filter((unit) => !present.includes(unit));
  if (!free.length) return null;
  if (present.length && !addingFor.has(service.service_id)) {
    return h('button', {
      type: 'button', class: 'btn add-unit-open', text: t('provider.addAnother'),
      onclick: () => { addingFor.add(service.service_id); renderService(service.service_id); $(`#add-unit-${CSS.escape(service.service_id)}`)?.focus(); },
    });
  }
  const id = `add-unit-${service.service_id}`;
  const select = h('select', { id }, free.map((unit) => h('option', { value: unit, text: unitName(unit) })));
  return h('div', { class: 'add-unit' },
    h('label', { for: id, text: t('provider.addUnit') }),
    h('div', { class: 'add-unit-row' },
      select,
      h('button', {
        type: 'button', class: 'btn', text: t('provider.add'),
        onclick: () => { addingFor.delete(service.service_id); setCount(service, select.value, 0, { rerender: true }); },
      })));
}

function serviceCard(service) {
  const draft = draftOf(service.service_id);
  const units = unitsOf(service);
  const dirty = changed(service);
  const titleId = `provider-name-${service.service_id}`;
  return h('article', {
    class: 'card provider-service', 'aria-labelledby': titleId,
    dataset: { serviceId: service.service_id, status: draft.status, dirty: String(dirty) },
  },
  h('h2', { id: titleId, class: 'provider-name', text: service.name }),
  service.organization_name && h('p', { class: 'muted', text: service.organization_name }),
  service.status && service.status !== 'active' && h('p', { class: 'badge', text: t('provider.inactive') }),
  (service.open_reports || []).length > 0 && h('section', { class: 'provider-reports', 'aria-labelledby': `${titleId}-reports` },
    h('h3', { id: `${titleId}-reports`, text: t('provider.reports') }),
    h('ul', { class: 'warnings' }, service.open_reports.map((report) => reportWarning(report, { tag: 'li' }))),
    h('p', { class: 'muted', text: t('provider.reportsHelp') })),
  units.map((unit) => countRow(service, unit)),
  !units.length && h('p', { class: 'muted', text: t('provider.noCount') }),
  !units.length && addUnit(service),
  h('div', { class: 'provider-actions' },
    h('button', {
      type: 'button', class: 'btn btn-primary btn-large provider-save', disabled: !dirty || draft.status === 'saving' || draft.status === 'busy',
      'aria-label': t('provider.saveName', { name: service.name }), onclick: () => save(service.service_id), text: t('provider.save'),
    }),
    dirty && h('button', { type: 'button', class: 'btn btn-large provider-undo', onclick: () => undo(service.service_id), text: t('provider.undo') })),
  h('p', {
    class: `provider-status status-${draft.status}${draft.status === 'error' || draft.status === 'offline' ? ' error' : ''}`,
    role: 'status', 'aria-live': 'polite', text: dirty && draft.status === 'idle' ? t('provider.unsaved') : statusText(draft),
  }),
  units.length > 0 && addUnit(service),
  );
}

export function renderProvider() {
  const root = $('#provider-list');
  if (!root) return;
  const note = $('#provider-note');
  const offline = data?.fromPhone;
  note.hidden = !offline;
  note.textContent = offline ? t('provider.offline', { time: formatDateTime(data.loadedAt) }) : '';
  const me = state.me || {};
  const c = claims() || {};
  replace($('#provider-account'),
    h('p', { text: t('account.who', { sub: me.subject || c.sub || '?' }) }),
    h('p', { class: 'muted', text: t('account.role', { role: roleLabel(me.role || c.role || 'provider'), agency: me.agency || c.agency || '?' }) }));
  if (!data) {
    replace(root, h('p', { class: loadError ? 'error' : 'muted', text: loadError ? t('provider.error', { detail: loadError }) : t('provider.loading') }));
    root.dataset.count = '0';
    return;
  }
  // What has focus is found again after the list is made anew (a count field, a button).
  const focused = document.activeElement;
  const focusKey = focused && root.contains(focused)
    ? { service: focused.closest('[data-service-id]')?.dataset.serviceId, selector: focused.id ? `#${CSS.escape(focused.id)}` : focused.classList.contains('provider-save') ? '.provider-save' : null }
    : null;
  replace(root,
    loadError && h('p', { class: 'error', text: t('provider.error', { detail: loadError }) }),
    data.services.length ? data.services.map(serviceCard) : h('p', { class: 'empty', text: t('provider.none') }));
  root.dataset.count = String(data.services.length);
  root.dataset.source = data.fromPhone ? 'phone' : 'network';
  if (focusKey?.selector) {
    const card = root.querySelector(`[data-service-id="${focusKey.service}"]`);
    (card?.querySelector(focusKey.selector) || card?.querySelector('.provider-save'))?.focus();
  }
}

function renderService(serviceId) {
  const service = serviceById(serviceId);
  const card = $(`#provider-list [data-service-id="${serviceId}"]`);
  if (!service || !card) return renderProvider();
  const focusedId = card.contains(document.activeElement) ? document.activeElement.id : null;
  const saveFocused = document.activeElement?.classList.contains('provider-save') && card.contains(document.activeElement);
  const next = serviceCard(service);
  card.replaceWith(next);
  if (focusedId) next.querySelector(`#${CSS.escape(focusedId)}`)?.focus();
  else if (saveFocused) next.querySelector('.provider-save')?.focus();
  return null;
}

// --- changing a count ----------------------------------------------------------------------------

// A change gets a new Idempotency-Key: the body it goes with is new.
function touch(draft) {
  draft.key = uuid4();
  draft.status = 'idle';
  draft.errors = {};
}

function setCount(service, unit, value, { rerender = false } = {}) {
  const draft = draftOf(service.service_id);
  const max = maximumOf(service, unit);
  const next = Math.max(0, Math.min(max ?? MAX_COUNT, Math.round(value)));
  draft.counts[unit] = { available: next, maximum: max };
  if (!changed(service) && !rerender) {
    draft.counts = {};
    draft.key = null;
  } else {
    touch(draft);
  }
  if (rerender) {
    renderService(service.service_id);
    return;
  }
  const input = $(`#count-${CSS.escape(service.service_id)}-${CSS.escape(unit)}`);
  if (input) input.value = String(next);
  refreshActions(service);
}

// Typed in the field: kept as typed; refused on the phone only when Save is tapped.
function typed(service, unit, text) {
  const draft = draftOf(service.service_id);
  const value = text.trim() === '' ? NaN : Number(text);
  draft.counts[unit] = { available: value, maximum: maximumOf(service, unit) };
  touch(draft);
  refreshActions(service);
}

// Save, Undo and the status line follow the change without remaking the fields being used.
function refreshActions(service) {
  const card = $(`#provider-list [data-service-id="${service.service_id}"]`);
  if (!card) return;
  const draft = draftOf(service.service_id);
  const dirty = changed(service);
  card.dataset.dirty = String(dirty);
  card.dataset.status = draft.status;
  const fresh = serviceCard(service);
  card.querySelector('.provider-actions').replaceWith(fresh.querySelector('.provider-actions'));
  const status = card.querySelector('.provider-status');
  status.className = fresh.querySelector('.provider-status').className;
  status.textContent = fresh.querySelector('.provider-status').textContent;
  for (const row of card.querySelectorAll('.count-row')) {
    const unit = row.dataset.unit;
    if (!draft.errors[unit]) {
      row.querySelector('.field-error')?.remove();
      const input = row.querySelector('input');
      input.removeAttribute('aria-invalid');
      input.setAttribute('aria-describedby', `${input.id}-shown`);
    }
  }
}

function undo(serviceId) {
  const draft = draftOf(serviceId);
  draft.counts = {};
  draft.key = null;
  draft.status = 'idle';
  draft.errors = {};
  renderService(serviceId);
}

// On the phone first: whole numbers from 0, at most the maximum.
function check(service) {
  const draft = draftOf(service.service_id);
  const errors = {};
  for (const [unit, value] of Object.entries(draft.counts)) {
    if (!Number.isInteger(value.available) || value.available < 0 || value.available > MAX_COUNT) errors[unit] = t('provider.errNumber');
    else if (value.maximum != null && value.available > value.maximum) errors[unit] = t('provider.errAboveMax', { max: value.maximum });
  }
  return errors;
}

// The server's messages by the count at fault (`body.capacities.N...`, N in the body sent).
function serverErrors(problem, sentUnits) {
  const errors = {};
  for (const entry of problem?.errors || []) {
    const match = /^body\.capacities\.(\d+)/.exec(entry.field || '');
    const name = match && sentUnits[Number(match[1])] ? sentUnits[Number(match[1])] : 'general';
    errors[name] = errors[name] ? `${errors[name]} ${entry.message}` : entry.message;
  }
  if (!Object.keys(errors).length) errors.general = problem?.detail || t('error.generic', { status: '' });
  else if (!errors.general) errors.general = problem?.detail || '';
  return errors;
}

async function save(serviceId) {
  const service = serviceById(serviceId);
  const draft = draftOf(serviceId);
  if (!service || !changed(service) || draft.status === 'saving' || draft.status === 'busy') return;
  const problems = check(service);
  if (Object.keys(problems).length) {
    draft.errors = problems;
    draft.status = 'error';
    renderService(serviceId);
    return;
  }
  if (!draft.key) draft.key = uuid4();
  const entries = Object.entries(draft.counts).filter(([unit, value]) => shownCount(service, unit)?.available !== value.available);
  const body = {
    capacities: entries.map(([unit, value]) => (value.maximum != null ? { unit, available: value.available, maximum: value.maximum } : { unit, available: value.available })),
  };
  const sentUnits = entries.map(([unit]) => unit);
  const key = draft.key;
  draft.status = 'saving';
  draft.errors = {};
  renderService(serviceId);
  for (let attempt = 1; ; attempt++) {
    try {
      const answer = await api(`/v1/services/${encodeURIComponent(serviceId)}/capacity`, {
        method: 'PUT', body, headers: { 'Idempotency-Key': key },
      });
      if (draft.key !== key) {
        // Changed again while this was on its way: the count shown moves, the new change waits for Save.
        service.capacities = answer.capacities;
        renderService(serviceId);
        return;
      }
      saved(service, answer);
      return;
    } catch (error) {
      if (draft.key !== key) return; // changed meanwhile: the new change is saved on its own
      if (error instanceof NetworkError) {
        draft.status = 'offline'; // the same key goes with the next Save
        break;
      }
      const wait = error instanceof ApiError && (error.status === 503 || error.status === 429
        || (error.status === 409 && error.problem?.type?.endsWith('/request-in-progress')));
      if (wait && attempt < BUSY_TRIES) {
        draft.status = 'busy';
        draft.waitS = Math.min(Math.max(1, Math.ceil(error.retryAfterS || 1)), MAX_WAIT_S);
        renderService(serviceId);
        await sleep(draft.waitS * 1000);
        if (draft.key !== key) return;
        draft.status = 'saving';
        renderService(serviceId);
        continue;
      }
      draft.status = 'error';
      draft.errors = error instanceof ApiError ? serverErrors(error.problem, sentUnits) : { general: error.message };
      if (error instanceof ApiError && error.status === 409 && error.problem?.type?.endsWith('/capacity-outdated')) {
        // A newer count is shown: the list is read again, the message stays.
        const message = draft.errors;
        await loadProvider();
        draftOf(serviceId).errors = message;
      }
      break;
    }
  }
  renderService(serviceId);
}

function saved(service, answer) {
  service.capacities = answer.capacities;
  const draft = draftOf(service.service_id);
  draft.counts = {};
  draft.key = null;
  draft.errors = {};
  draft.status = 'saved';
  draft.savedAt = Date.now();
  if (data && !data.fromPhone) setMeta('providerServices', { ...data, loadedAt: Date.now(), subject: claims()?.sub ?? null });
  renderService(service.service_id);
}

// --- start ------------------------------------------------------------------------------------------

let started = false;

export async function startProvider() {
  if (!started) {
    started = true;
    // "Saved · 2 min ago" and the counts' ages move on; the list is read again now and then
    // (new field reports), unless the provider is in the middle of a change.
    setInterval(() => {
      if (document.visibilityState !== 'visible') return;
      const busy = [...drafts.values()].some((d) => Object.keys(d.counts).length || d.status === 'saving' || d.status === 'busy');
      const typing = $('#provider')?.contains(document.activeElement) && document.activeElement.tagName === 'INPUT';
      if (typing) return;
      renderProvider();
      if (!busy && serverUsable() && Date.now() - (data?.loadedAt || 0) > REFRESH_EVERY_MS) loadProvider();
    }, 30_000);
    $('#provider-refresh').addEventListener('click', () => loadProvider());
  }
  renderProvider();
  await loadProvider();
}
