// The two rows above the map: what kind of service (category chips) and the questions asked
// at night (open now, beds free, the person's age). Both filter the map and the list, online
// (API parameters) and offline (the saved area's snapshot, offline.js).
import { categoryLabel, t } from './i18n.js';
import { emit, state } from './state.js';
import { $, h, replace } from './ui.js';

// The categories a field worker reaches for first; the others are behind "More".
export const PRIMARY = ['shelter', 'mental_health', 'senior_support', 'crisis', 'food'];
const MIN_AGE = 0;
const MAX_AGE = 130; // as the API's `age` parameter

let showAllChips = false;
let ageOpen = false;

export function renderChips() {
  const ordered = [
    ...PRIMARY.map((code) => state.categories.find((c) => c.code === code)).filter(Boolean),
    ...state.categories.filter((c) => !PRIMARY.includes(c.code)),
  ];
  const shown = showAllChips ? ordered : ordered.filter((c) => PRIMARY.includes(c.code) || c.code === state.category);
  replace($('#chips'),
    shown.map((c) => h('button', {
      type: 'button', class: 'chip', dataset: { code: c.code }, 'aria-pressed': String(state.category === c.code),
      onclick: () => emit('category', state.category === c.code ? null : c.code), text: categoryLabel(c),
    })),
    ordered.length > PRIMARY.length && h('button', {
      type: 'button', class: 'chip chip-more', 'aria-expanded': String(showAllChips),
      onclick: () => { showAllChips = !showAllChips; renderChips(); }, text: showAllChips ? t('chips.fewer') : t('chips.more'),
    }),
  );
  renderFilters();
}

function toggle(name) {
  setFilters({ ...state.filters, [name]: !state.filters[name] });
}

function setFilters(filters) {
  state.filters = filters;
  renderFilters();
  emit('filters', filters);
}

function agePanel() {
  const input = h('input', {
    id: 'age-input', type: 'number', inputmode: 'numeric', min: MIN_AGE, max: MAX_AGE, step: 1,
    value: state.filters.age ?? '', 'aria-describedby': 'age-help',
  });
  const apply = () => {
    const age = Number.parseInt(input.value, 10);
    ageOpen = false;
    setFilters({ ...state.filters, age: Number.isFinite(age) && age >= MIN_AGE && age <= MAX_AGE ? age : null });
  };
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter') apply(); });
  return h('div', { id: 'age-panel', class: 'age-panel' },
    h('label', { for: 'age-input', text: t('filters.ageLabel') }),
    input,
    h('button', { type: 'button', class: 'btn btn-primary', id: 'age-apply', onclick: apply, text: t('filters.ageApply') }),
    state.filters.age != null && h('button', {
      type: 'button', class: 'btn', onclick: () => { ageOpen = false; setFilters({ ...state.filters, age: null }); }, text: t('filters.ageClear'),
    }),
    h('p', { id: 'age-help', class: 'muted', text: t('filters.ageHelp') }),
  );
}

export function renderFilters() {
  const f = state.filters;
  replace($('#filters'),
    h('button', { type: 'button', class: 'chip chip-filter', dataset: { filter: 'open-now' }, 'aria-pressed': String(f.openNow), onclick: () => toggle('openNow'), text: t('filters.openNow') }),
    h('button', { type: 'button', class: 'chip chip-filter', dataset: { filter: 'beds-free' }, 'aria-pressed': String(f.bedsFree), onclick: () => toggle('bedsFree'), text: t('filters.bedsFree') }),
    h('button', {
      type: 'button', class: 'chip chip-filter', dataset: { filter: 'age' }, 'aria-pressed': String(f.age != null), 'aria-expanded': String(ageOpen),
      onclick: () => { ageOpen = !ageOpen; renderFilters(); if (ageOpen) $('#age-input')?.focus(); },
      text: f.age != null ? t('filters.ageSet', { age: f.age }) : t('filters.age'),
    }),
  );
  const panel = $('#age-panel');
  if (ageOpen && !panel) $('#filters').after(agePanel());
  else if (!ageOpen && panel) panel.remove();
  else if (ageOpen && panel) panel.replaceWith(agePanel());
}

// The filters as /v1/services/nearest parameters.
export function filterParams(params) {
  if (state.filters.openNow) params.set('open_now', 'true');
  if (state.filters.bedsFree) params.set('has_capacity', 'true');
  if (state.filters.age != null) params.set('age', String(state.filters.age));
  return params;
}

export function anyFilter() {
  const f = state.filters;
  return f.openNow || f.bedsFree || f.age != null;
}
