// The two rows above the map: what kind of service (category chips) and the questions asked
// at night (open now, beds free, the person's age, who the person is and whether a service
// serves their address). Both filter the map and the list, online (API parameters) and
// offline (the saved area's snapshot, offline.js).
import { categoryLabel, t } from './i18n.js';
import { emit, state } from './state.js';
import { $, h, replace } from './ui.js';

// The categories a field worker reaches for first; the others are behind "More".
export const PRIMARY = ['shelter', 'mental_health', 'senior_support', 'crisis', 'food'];
const MIN_AGE = 0;
const MAX_AGE = 130; // as the API's `age` parameter

// Who the person is (service/data/population_groups.yaml, in its order): the gender asked
// apart (gender=), the other groups any-of (population=). Labels: i18n "population.<code>".
export const GENDERS = ['woman', 'man', 'gender_diverse'];
export const GENDER_GROUP = { woman: 'women', man: 'men', gender_diverse: 'gender_diverse' };
export const POPULATIONS = ['youth', 'seniors', 'families', 'indigenous', 'newcomers', 'veterans', 'pets', 'fleeing_violence', '2slgbtq'];

let showAllChips = false;
let ageOpen = false;
let whoOpen = false;

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

function whoPanel() {
  const f = state.filters;
  const genderInputs = ['', ...GENDERS].map((value) => h('label', { class: 'who-option' },
    h('input', { type: 'radio', name: 'who-gender', value, checked: (f.gender || '') === value }),
    h('span', { text: value ? t(`gender.${value}`) : t('filters.genderAny') }),
  ));
  const groupInputs = POPULATIONS.map((code) => h('label', { class: 'who-option' },
    h('input', { type: 'checkbox', name: 'who-group', value: code, checked: (f.population || []).includes(code) }),
    h('span', { text: t(`population.${code}`) }),
  ));
  const panel = h('div', { id: 'who-panel', class: 'age-panel who-panel' },
    h('fieldset', { class: 'who-set' }, h('legend', { text: t('filters.genderLabel') }), ...genderInputs),
    h('fieldset', { class: 'who-set' }, h('legend', { text: t('filters.whoLabel') }), ...groupInputs),
    // Who serves the address the list is for (serves=here): the services whose area holds it,
    // and those with no known area (not "serves nobody").
    h('fieldset', { class: 'who-set' }, h('legend', { text: t('filters.servesLabel') }),
      h('label', { class: 'who-option' },
        h('input', { type: 'checkbox', name: 'who-serves', id: 'who-serves', checked: Boolean(f.servesHere) }),
        h('span', { text: t('filters.servesHere') }))),
    h('button', {
      type: 'button', class: 'btn btn-primary', id: 'who-apply', text: t('filters.ageApply'),
      onclick: () => {
        const gender = panel.querySelector('input[name="who-gender"]:checked')?.value || null;
        const population = [...panel.querySelectorAll('input[name="who-group"]:checked')].map((input) => input.value);
        const servesHere = panel.querySelector('#who-serves').checked;
        whoOpen = false;
        setFilters({ ...state.filters, gender, population, servesHere });
      },
    }),
    whoSet(f) && h('button', {
      type: 'button', class: 'btn', id: 'who-clear', text: t('filters.whoClear'),
      onclick: () => { whoOpen = false; setFilters({ ...state.filters, gender: null, population: [], servesHere: false }); },
    }),
    h('p', { id: 'who-help', class: 'muted', text: t('filters.whoHelp') }),
  );
  return panel;
}

function whoSet(f) {
  return Boolean(f.gender) || (f.population || []).length > 0 || Boolean(f.servesHere);
}

function showPanel(id, open, make) {
  const panel = $(`#${id}`);
  if (open && !panel) $('#filters').after(make());
  else if (!open && panel) panel.remove();
  else if (open && panel) panel.replaceWith(make());
}

export function renderFilters() {
  const f = state.filters;
  const whoCount = (f.gender ? 1 : 0) + (f.population || []).length + (f.servesHere ? 1 : 0);
  replace($('#filters'),
    h('button', { type: 'button', class: 'chip chip-filter', dataset: { filter: 'open-now' }, 'aria-pressed': String(f.openNow), onclick: () => toggle('openNow'), text: t('filters.openNow') }),
    h('button', { type: 'button', class: 'chip chip-filter', dataset: { filter: 'beds-free' }, 'aria-pressed': String(f.bedsFree), onclick: () => toggle('bedsFree'), text: t('filters.bedsFree') }),
    h('button', {
      type: 'button', class: 'chip chip-filter', dataset: { filter: 'age' }, 'aria-pressed': String(f.age != null), 'aria-expanded': String(ageOpen),
      onclick: () => { ageOpen = !ageOpen; if (ageOpen) whoOpen = false; renderFilters(); if (ageOpen) $('#age-input')?.focus(); },
      text: f.age != null ? t('filters.ageSet', { age: f.age }) : t('filters.age'),
    }),
    h('button', {
      type: 'button', class: 'chip chip-filter', dataset: { filter: 'who' }, 'aria-pressed': String(whoCount > 0), 'aria-expanded': String(whoOpen),
      onclick: () => { whoOpen = !whoOpen; if (whoOpen) ageOpen = false; renderFilters(); if (whoOpen) $('#who-panel input')?.focus(); },
      text: whoCount ? t('filters.whoSet', { n: whoCount }) : t('filters.who'),
    }),
  );
  showPanel('age-panel', ageOpen, agePanel);
  showPanel('who-panel', whoOpen, whoPanel);
}

// The population= values: the groups chosen, with the gender's own group when there are
// any (a young woman asks for youth and women's services, not youth ones only).
export function populationValues(filters) {
  const groups = [...(filters.population || [])];
  if (groups.length && filters.gender) groups.push(GENDER_GROUP[filters.gender]);
  return groups;
}

// The filters as /v1/services/nearest parameters.
export function filterParams(params) {
  if (state.filters.openNow) params.set('open_now', 'true');
  if (state.filters.bedsFree) params.set('has_capacity', 'true');
  if (state.filters.age != null) params.set('age', String(state.filters.age));
  const population = populationValues(state.filters);
  if (population.length) params.set('population', population.join(','));
  if (state.filters.gender) params.set('gender', state.filters.gender);
  // "here": the point the list is for (nearest's lat/lon), which the server checks each
  // service's area against.
  if (state.filters.servesHere) params.set('serves', 'here');
  return params;
}

export function anyFilter() {
  const f = state.filters;
  return f.openNow || f.bedsFree || f.age != null || whoSet(f);
}
