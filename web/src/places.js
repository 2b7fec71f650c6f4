// The place chooser: a search box that asks GET /v1/places as the worker types (debounced,
// the previous request aborted), and lists what it finds: towns, postal codes (full or the
// first three characters) and street addresses. Choosing one emits 'place:chosen' with the
// same origin the fixed city list gave setOrigin ({ name, lat, lon, source: 'place' }), and
// calls onChoose with it, so the map and the list move. Offline (or signed out) it filters the
// fallback list it was given (the fixed cities) by name instead.
import { ApiError, NetworkError, api } from './api.js';
import { onLanguageChange, t } from './i18n.js';
import { emit, serverUsable } from './state.js';
import { h, replace } from './ui.js';

export const PLACE_CHOSEN = 'place:chosen';
const DEBOUNCE_MS = 250;
const MIN_CHARS = 2;
const MAX_CHARS = 200; // the server refuses longer queries (422)
const LIMIT = 8;

let chooserCount = 0;

// Lower case, no accents, single spaces: how the fallback list is matched offline.
function folded(text) {
  return text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
}

function kindLabel(kind) {
  const key = `place.kind.${kind}`;
  const text = t(key);
  return text === key ? '' : text;
}

// { container, onChoose, fallback }: mounts the chooser in container; returns { element, focus, clear }.
export function createPlaceChooser({ container, onChoose = () => {}, fallback = [] } = {}) {
  chooserCount += 1;
  const listId = `place-results-${chooserCount}`;
  const input = h('input', {
    type: 'search',
    class: 'place-search',
    autocomplete: 'off',
    spellcheck: 'false',
    maxlength: String(MAX_CHARS),
    role: 'combobox',
    'aria-autocomplete': 'list',
    'aria-expanded': 'false',
    'aria-controls': listId,
  });
  const status = h('p', { class: 'place-status', role: 'status', 'aria-live': 'polite' });
  const list = h('ul', { id: listId, class: 'place-results', role: 'listbox', hidden: true });
  const element = h('div', { class: 'place-chooser' }, input, list, status);

  let results = [];
  let active = -1;
  let timer = null;
  let controller = null;
  let sequence = 0;

  function label() {
    input.placeholder = t('place.search');
    input.setAttribute('aria-label', t('place.search'));
  }

  function setStatus(key, vars) {
    status.textContent = key ? t(key, vars) : '';
  }

  function show(places) {
    results = places;
    active = -1;
    input.removeAttribute('aria-activedescendant');
    replace(list, places.map((place, i) => {
      const kind = kindLabel(place.kind);
      return h('li', {
        id: `${listId}-${i}`,
        role: 'option',
        class: 'place-result',
        'aria-selected': 'false',
        onmousedown: (event) => event.preventDefault(), // keep the focus in the box
        onclick: () => choose(i),
      }, h('span', { class: 'place-label', text: place.label }), kind ? h('span', { class: 'place-kind', text: kind }) : null);
    }));
    list.hidden = places.length === 0;
    input.setAttribute('aria-expanded', String(places.length > 0));
  }

  function highlight(index) {
    if (!results.length) return;
    active = (index + results.length) % results.length;
    list.querySelectorAll('[role="option"]').forEach((option, i) => option.setAttribute('aria-selected', String(i === active)));
    input.setAttribute('aria-activedescendant', `${listId}-${active}`);
  }

  function choose(index) {
    const place = results[index];
    if (!place) return;
    const origin = { name: place.label, lat: place.lat, lon: place.lon, source: 'place' };
    input.value = place.label;
    show([]);
    setStatus('');
    emit(PLACE_CHOSEN, origin);
    onChoose(origin);
  }

  function offlineMatches(query) {
    const wanted = folded(query);
    return fallback
      .filter((place) => folded(place.name).startsWith(wanted) || folded(place.name).includes(` ${wanted}`))
      .slice(0, LIMIT)
      .map((place) => ({ label: place.name, name: place.name, lat: place.lat, lon: place.lon, kind: 'city', source: 'fieldnav' }));
  }

  async function search(query) {
    const mine = ++sequence;
    if (controller) controller.abort();
    if (!serverUsable()) {
      const found = offlineMatches(query);
      show(found);
      setStatus(found.length ? 'place.offlineList' : 'place.noMatch');
      return;
    }
    controller = new AbortController();
    setStatus('place.searching');
    try {
      const params = new URLSearchParams({ q: query, limit: String(LIMIT) });
      const found = await api(`/v1/places?${params}`, { signal: controller.signal });
      if (mine !== sequence) return;
      show(found);
      setStatus(found.length ? 'place.found' : 'place.noMatch', { n: found.length });
    } catch (error) {
      if (error.name === 'AbortError' || mine !== sequence) return;
      if (error instanceof NetworkError || error instanceof ApiError) {
        const found = offlineMatches(query); // the fixed list still answers
        show(found);
        setStatus(found.length ? 'place.offlineList' : 'place.searchFailed');
      } else {
        console.warn('places', error);
        setStatus('place.searchFailed');
      }
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    const query = input.value.trim().slice(0, MAX_CHARS);
    if (query.length < MIN_CHARS) {
      sequence += 1; // an answer still on its way is for an older query
      if (controller) controller.abort();
      show([]);
      setStatus(query.length ? 'place.typeMore' : '');
      return;
    }
    timer = setTimeout(() => search(query), DEBOUNCE_MS);
  });

  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown') {
      event.preventDefault();
      highlight(active + 1);
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      highlight(active - 1);
    } else if (event.key === 'Enter') {
      if (results.length) {
        event.preventDefault();
        choose(active >= 0 ? active : 0);
      }
    } else if (event.key === 'Escape') {
      show([]);
    }
  });

  input.addEventListener('blur', () => setTimeout(() => show([]), 150));

  label();
  onLanguageChange(label);
  if (container) container.append(element);

  return {
    element,
    focus: () => input.focus(),
    clear: () => {
      input.value = '';
      show([]);
      setStatus('');
    },
  };
}
