// The "Nearest" list: /v1/services/nearest online, the saved area's sites offline (or when
// signed out). A row answers the questions that decide the choice at a glance: how far, open
// or not and until when, beds free and how old that count is (capacity.js), who it is for, a
// warning when the field reported it wrong, and Call.
import { ApiError, NetworkError, api } from './api.js';
import { capacityBadge, newestReport, reportWarning } from './capacity.js';
import { anyFilter, filterParams } from './chips.js';
import { hoursLabel } from './hours.js';
import { categoryLabel, formatDistance, formatShortDateTime, t } from './i18n.js';
import { localNearest } from './offline.js';
import { canChooseMore, isChosen, isSelecting, toggleChosen } from './share.js';
import { emit, serverUsable, state } from './state.js';
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
  if (anyFilter()) parts.push(t('list.filtered'));
  if (source === 'phone' && state.pack) parts.push(t('list.offlineData', { date: formatShortDateTime(state.pack.syncedAt || state.pack.savedAt) }));
  $('#list-subtitle').textContent = parts.filter(Boolean).join(' · ');
  $('#nearest').dataset.source = source || '';
}

export function agesText(eligibility) {
  const min = eligibility?.minimum_age, max = eligibility?.maximum_age;
  if (min != null && max != null) return t('detail.ages', { min, max });
  if (min != null) return t('detail.agesFrom', { min });
  if (max != null) return t('detail.agesTo', { max });
  return null;
}

// Who the service is for, in one line: its eligibility text, else its ages.
export function whoText(site) {
  const description = site.eligibility?.description?.trim();
  const ages = agesText(site.eligibility);
  if (description) return ages && !/\d/.test(description) ? `${description} · ${ages}` : description;
  return ages || t('result.whoUnknown');
}

// While a "who" filter is on, why a row is in the list: the groups it is for
// (service/directory/populations.py), and whether it states no restriction. (Otherwise the
// eligibility line says it, and a row keeps its height: three whole rows on a phone.)
export function populationsText(site) {
  const f = state.filters;
  if (!f.gender && !(f.population || []).length) return null;
  const parts = (site.populations || []).map((code) => t(`population.${code}`));
  if (!site.population_restricted) parts.push(t('result.unrestricted'));
  return parts.join(' · ');
}

// Does the service serve the address the list is for (`serves_location`, from the server or
// computed on the phone offline: offline.js)? Yes: a short line; no: a warning in the amber
// of notices (the worker may still call: areas are often loose); unknown: nothing, as most
// services state no area. Also for the service's card.
export function servesLine(site) {
  if (site.serves_location === 'yes') return h('span', { class: 'result-serves serves-yes', text: t('result.servesYes') });
  if (site.serves_location === 'no') return h('span', { class: 'result-serves serves-no', text: t('result.servesNo') });
  return null;
}

export function primaryPhone(site) {
  return (site.phones || []).find((p) => p.tel) || null;
}

function resultItem(site) {
  const phone = primaryPhone(site);
  const confidential = site.confidential;
  const distance = site.distance_m == null ? t('result.callToConnect') : site.distance_is_approximate
    ? t('result.approx', { d: formatDistance(site.distance_m) }) : formatDistance(site.distance_m);
  const hoursState = site.hours?.state || 'unknown';
  const report = newestReport(site);
  // Choosing services to share (share.js): a checkbox before the row, and a tap on the row
  // ticks it rather than opening the card.
  const picking = isSelecting();
  const pick = picking && h('label', { class: 'pick' },
    h('input', {
      type: 'checkbox', class: 'pick-box', checked: isChosen(site), disabled: !isChosen(site) && !canChooseMore(),
      'aria-label': t('share.pickName', { name: site.name }), onchange: (e) => toggleChosen(site, e.target.checked),
    }));
  const open = picking
    ? (e) => { const box = e.currentTarget.closest('li').querySelector('.pick-box'); if (!box.disabled) box.click(); }
    : () => emit('show-site', site);
  return h('li', {
    class: ['result', report && 'reported', picking && 'picking'].filter(Boolean).join(' '),
    dataset: {
      serviceId: site.service_id, locationId: site.location_id, distance: site.distance_m ?? '', groups: (site.category_groups || []).join(','),
      populations: (site.populations || []).join(','), restricted: String(Boolean(site.population_restricted)),
      hours: hoursState, reported: report ? report.kind : '', serves: site.serves_location || '',
    },
  },
  pick,
  h('button', { class: 'result-main', type: 'button', onclick: open, ...(picking ? { tabindex: '-1' } : {}) },
    h('span', { class: 'result-name', text: site.name }),
    h('span', { class: 'result-meta' },
      h('span', { class: 'distance', text: distance }),
      h('span', { class: `badge hours-${hoursState}`, text: hoursLabel(site.hours) }),
      capacityBadge(site.capacity),
    ),
    report && reportWarning(report),
    servesLine(site),
    h('span', { class: 'result-who' }, h('span', { class: 'sr-only', text: `${t('result.who')} ` }), whoText(site)),
    populationsText(site) && h('span', { class: 'result-populations', dataset: { populations: (site.populations || []).join(',') } },
      h('span', { class: 'sr-only', text: `${t('result.populations')} ` }), populationsText(site)),
    confidential && h('span', { class: 'result-org', text: t('result.callToConnect') }),
  ),
  phone && h('a', { class: 'btn btn-call', href: phone.tel, 'aria-label': t('result.callName', { name: site.name }), text: t('result.call') }),
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
    if (serverUsable()) {
      const params = new URLSearchParams({ lat: state.origin.lat.toFixed(5), lon: state.origin.lon.toFixed(5), limit: String(LIMIT) });
      if (state.category) params.set('category', state.category);
      filterParams(params);
      try {
        results = (await api(`/v1/services/nearest?${params}`)).results;
      } catch (error) {
        if (!(error instanceof NetworkError || (error instanceof ApiError && (error.status >= 500 || error.status === 401)))) {
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
          renderMessage(state.authLost ? t('list.signedOutNoPack') : t('list.offlineNoPack'));
        }
        return;
      }
      results = await localNearest(state.origin, state.category, LIMIT, state.filters);
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

