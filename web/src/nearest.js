// The "Nearest" list: /v1/services/nearest online, the saved area's sites offline.
import { ApiError, NetworkError, api } from './api.js';
import { directionsUrl } from './geo.js';
import { hoursLabel } from './hours.js';
import { categoryLabel, formatDateTime, formatDistance, t, unitLabel } from './i18n.js';
import { localNearest } from './offline.js';
import { state, emit } from './state.js';
import { $, h, replace } from './ui.js';

export const LIMIT = 10;
let generation = 0;

function originText() {
  const origin = state.origin;
  if (!origin) return '';
  if (origin.source === 'device') return t('place.fromDevice');
  return t('place.fromPlace', { place: origin.source === 'map' ? t('place.mapCentreName') : origin.name });
}

function renderHeader(source) {
  const category = state.categories.find((c) => c.code === state.category);
  $('#list-title').textContent = category ? t('list.titleCategory', { category: categoryLabel(category) }) : t('list.title');
  const parts = [originText()];
  if (source === 'phone' && state.pack) parts.push(t('list.offlineData', { date: formatDateTime(state.pack.syncedAt || state.pack.savedAt) }));
  $('#list-subtitle').textContent = parts.filter(Boolean).join(' · ');
  $('#nearest').dataset.source = source || '';
}

export function capacityText(capacity) {
  if (!capacity || capacity.available == null) return null;
  if (capacity.state === 'full' || capacity.available <= 0) return t('capacity.full');
  return t('capacity.free', { n: capacity.available, unit: unitLabel(capacity.unit) });
}

export function primaryPhone(site) {
  return (site.phones || []).find((p) => p.tel) || null;
}

function resultItem(site) {
  const phone = primaryPhone(site);
  const capacity = capacityText(site.capacity);
  const confidential = site.confidential;
  const distance = site.distance_m == null ? '' : site.distance_is_approximate
    ? t('result.approx', { d: formatDistance(site.distance_m) }) : formatDistance(site.distance_m);
  const state_ = site.hours?.state || 'unknown';
  return h('li', { class: 'result', dataset: { serviceId: site.service_id, locationId: site.location_id, distance: site.distance_m ?? '', groups: (site.category_groups || []).join(',') } },
    h('button', { class: 'result-main', type: 'button', onclick: () => emit('show-site', site) },
      h('span', { class: 'result-name', text: site.name }),
      h('span', { class: 'result-org', text: confidential ? t('result.callToConnect') : [...new Set([site.organization_name, site.location_name].filter(Boolean))].join(' · ') }),
      h('span', { class: 'result-meta' },
        distance && h('span', { class: 'distance', text: distance }),
        h('span', { class: `badge hours-${state_}`, text: hoursLabel(site.hours) }),
        capacity && h('span', { class: `badge capacity ${site.capacity?.available > 0 ? 'free' : 'full'}`, text: capacity }),
      ),
    ),
    h('div', { class: 'result-actions' },
      phone && h('a', { class: 'btn btn-call', href: phone.tel, text: t('result.call') }),
      !confidential && site.lat != null && h('a', { class: 'btn', href: directionsUrl(state.origin, site), target: '_blank', rel: 'noopener', text: t('result.directions') }),
    ),
  );
}

function renderResults(results) {
  const list = $('#nearest-list');
  if (!results.length) {
    replace(list, h('li', { class: 'empty', text: t('list.empty') }));
  } else {
    replace(list, results.map(resultItem));
  }
  list.dataset.count = String(results.length);
}

function renderMessage(text, kind = 'empty') {
  const list = $('#nearest-list');
  replace(list, h('li', { class: kind, text }));
  list.dataset.count = '0';
}

export async function refreshNearest() {
  const mine = ++generation;
  const list = $('#nearest-list');
  list.dataset.loading = 'true';
  try {
    if (!state.origin) {
      renderHeader(null);
      renderMessage(t('list.noOrigin'));
      return;
    }
    let results = null;
    let source = 'network';
    if (state.online) {
      const params = new URLSearchParams({ lat: state.origin.lat.toFixed(5), lon: state.origin.lon.toFixed(5), limit: String(LIMIT) });
      if (state.category) params.set('category', state.category);
      try {
        results = (await api(`/v1/services/nearest?${params}`)).results;
      } catch (error) {
        if (!(error instanceof NetworkError || (error instanceof ApiError && error.status >= 500))) {
          if (mine === generation) {
            renderHeader(null);
            renderMessage(t('list.error', { detail: error.message }), 'error');
          }
          return;
        }
        results = null; // no answer: use what the phone has
      }
    }
    if (results === null) {
      source = 'phone';
      if (!state.pack) {
        if (mine === generation) {
          renderHeader(source);
          renderMessage(t('list.offlineNoPack'));
        }
        return;
      }
      results = await localNearest(state.origin, state.category, LIMIT);
    }
    if (mine !== generation) return; // a newer refresh started meanwhile
    state.results = results;
    renderHeader(source);
    renderResults(results);
  } finally {
    if (mine === generation) list.dataset.loading = 'false';
  }
}

// Re-render in another language without asking again.
export function rerenderNearest() {
  if (!state.results.length) return refreshNearest();
  renderHeader($('#nearest').dataset.source || null);
  renderResults(state.results);
  return null;
}

