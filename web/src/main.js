// fieldnav's reference field client: start-up, sign-in, views, and what ties the parts together.
import './styles.css';
import './theme.css';
import { ApiError, NetworkError, api } from './api.js';
import { checkToken, claims, clearToken, expired, loadToken, storeToken, takeTokenFromFragment } from './auth.js';
import { done, getMeta, setMeta, transaction } from './db.js';
import { findSite, hideSite, showSite } from './detail.js';
import { flushOutbox, initHandoff, pendingCount, pollStatuses, prefill, renderForm, renderMine } from './handoff.js';
import { applyStatic, categoryLabel, formatBytes, formatDateTime, lang, onLanguageChange, setLanguage, t } from './i18n.js';
import { centreOn, createMap, fitArea, fitResults, getMap, mapCentre, refreshMap, renderedServices, resize, sourceMode, viewArea } from './map.js';
import { refreshNearest, rerenderNearest } from './nearest.js';
import { deleteArea, loadSavedArea, localSiteCount, saveArea, syncServices } from './offline.js';
import { emit, on, setOnline, state } from './state.js';
import { initTheme } from './theme.js';
import { $, $$, h, replace, toast } from './ui.js';

// The categories a field worker reaches for first; the others are behind "More".
const PRIMARY = ['shelter', 'mental_health', 'senior_support', 'crisis', 'food'];
// Places to start from when the phone's location is refused or unavailable.
const PLACES = [
  { name: 'Toronto', lat: 43.6534, lon: -79.3839 },
  { name: 'Ottawa', lat: 45.4215, lon: -75.6972 },
  { name: 'Hamilton', lat: 43.2557, lon: -79.8711 },
  { name: 'London', lat: 42.9849, lon: -81.2453 },
  { name: 'Kitchener', lat: 43.4516, lon: -80.4925 },
  { name: 'Kingston', lat: 44.2312, lon: -76.486 },
  { name: 'Windsor', lat: 42.3149, lon: -83.0364 },
  { name: 'Sudbury', lat: 46.4917, lon: -80.993 },
  { name: 'Thunder Bay', lat: 48.3809, lon: -89.2477 },
];
// Used only before the server's list has ever been seen (first start offline).
const FALLBACK_CATEGORIES = [
  { code: 'shelter', label_en: 'Shelter', label_fr: 'Hébergement d’urgence' },
  { code: 'mental_health', label_en: 'Mental health', label_fr: 'Santé mentale' },
  { code: 'senior_support', label_en: 'Seniors', label_fr: 'Aînés' },
  { code: 'crisis', label_en: 'Crisis', label_fr: 'Crise' },
  { code: 'food', label_en: 'Food', label_fr: 'Alimentation' },
];

let started = false;
let showAllChips = false;

// --- network state ---------------------------------------------------------------------------

async function updateNet() {
  const pill = $('#net-status');
  const pending = await pendingCount().catch(() => 0);
  const base = state.online ? t('net.online') : state.pack ? t('net.offlinePack') : t('net.offline');
  pill.textContent = pending ? `${base} · ${t('net.pending', { n: pending })}` : base;
  pill.dataset.state = state.online ? 'online' : 'offline';
  pill.dataset.pending = String(pending);
}

// --- categories -----------------------------------------------------------------------------

async function loadCategories() {
  if (state.online) {
    try {
      state.categories = (await api('/v1/categories')).categories;
      await setMeta('categories', state.categories);
      return;
    } catch (error) {
      if (!(error instanceof NetworkError)) console.warn('categories', error);
    }
  }
  state.categories = (await getMeta('categories')) || FALLBACK_CATEGORIES;
}

function renderChips() {
  const ordered = [
    ...PRIMARY.map((code) => state.categories.find((c) => c.code === code)).filter(Boolean),
    ...state.categories.filter((c) => !PRIMARY.includes(c.code)),
  ];
  const shown = showAllChips ? ordered : ordered.filter((c) => PRIMARY.includes(c.code) || c.code === state.category);
  replace($('#chips'),
    shown.map((c) => h('button', {
      type: 'button', class: 'chip', dataset: { code: c.code }, 'aria-pressed': String(state.category === c.code),
      onclick: () => selectCategory(state.category === c.code ? null : c.code), text: categoryLabel(c),
    })),
    ordered.length > PRIMARY.length && h('button', {
      type: 'button', class: 'chip chip-more', 'aria-expanded': String(showAllChips),
      onclick: () => { showAllChips = !showAllChips; renderChips(); }, text: showAllChips ? t('chips.fewer') : t('chips.more'),
    }),
  );
}

async function selectCategory(code) {
  state.category = code;
  renderChips();
  refreshMap();
  await refreshNearest();
  if (code && state.category === code) fitResults(state.origin, state.results);
}

// --- where the worker stands ----------------------------------------------------------------

function setOrigin(origin) {
  state.origin = origin;
  setMeta('origin', origin);
  $('#place').hidden = true;
  refreshMap();
  centreOn(origin);
  refreshNearest();
}

async function choosePlace() {
  const select = $('#place-select');
  replace(select,
    h('option', { value: '', text: t('place.choose') }),
    PLACES.map((p, i) => h('option', { value: String(i), text: p.name })));
  $('#place').hidden = false;
  const remembered = await getMeta('origin');
  if (!state.origin && remembered && remembered.source !== 'device') setOrigin(remembered);
  else if (!state.origin) refreshNearest();
}

function locate() {
  if (!navigator.geolocation) {
    choosePlace();
    return;
  }
  navigator.geolocation.getCurrentPosition(
    (position) => {
      $('#place').hidden = true;
      setOrigin({ lat: position.coords.latitude, lon: position.coords.longitude, source: 'device' });
    },
    () => choosePlace(),
    { enableHighAccuracy: true, timeout: 10_000, maximumAge: 60_000 },
  );
}

// --- views ---------------------------------------------------------------------------------

function showView(name) {
  state.view = name;
  $('#app').dataset.view = name;
  for (const view of $$('main > .view')) view.hidden = view.dataset.view !== name && view.dataset.view !== 'nearby';
  for (const button of $$('.tabbar button')) {
    if (button.dataset.tab === name) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
  }
  hideSite();
  if (name === 'handoff') { renderMine(); pollStatuses(); }
  if (name === 'offline') renderOffline();
  if (name === 'account') renderAccount();
}

async function renderOffline() {
  const area = $('#offline-area');
  const pack = state.pack;
  if (!pack) {
    replace(area, h('p', { class: 'muted', text: t('offline.none') }));
    return;
  }
  const m = pack.manifest;
  const sites = await localSiteCount();
  const size = pack.archive.size + (pack.basemap?.size || 0) + m.services.bytes;
  replace(area,
    h('h3', { text: t('offline.saved') }),
    h('p', { id: 'offline-summary', dataset: { packId: pack.id, sites: String(sites) }, text: t('offline.summary', { count: sites, size: formatBytes(size), min: m.min_zoom, max: m.max_zoom }) }),
    h('p', { class: 'muted', text: [t('offline.savedAt', { time: formatDateTime(pack.savedAt) }), pack.basemap ? t('offline.withBasemap') : null].filter(Boolean).join(' · ') }),
    pack.syncedAt && h('p', { class: 'muted', text: t('offline.synced', { time: formatDateTime(pack.syncedAt) }) }),
    h('div', { class: 'row' },
      h('button', { class: 'btn', type: 'button', onclick: () => { showView('nearby'); fitArea(m.bbox); }, text: t('offline.showArea') }),
      h('button', { class: 'btn', type: 'button', disabled: !state.online, onclick: () => syncServices().then(renderOffline).catch((e) => toast(e.message, 'error')), text: t('offline.sync') }),
      h('button', { class: 'btn btn-danger', type: 'button', onclick: () => deleteArea().then(renderOffline), text: t('offline.delete') })),
  );
}

async function onSave() {
  if (!state.online) {
    toast(t('offline.needNetwork'), 'error');
    return;
  }
  const button = $('#offline-save');
  const progress = $('#offline-progress');
  button.disabled = true;
  progress.dataset.state = 'saving';
  try {
    await saveArea(viewArea(), (step) => { progress.textContent = t('offline.saving', { step: t(`offline.step.${step}`) }); });
    progress.textContent = t('offline.saved');
    progress.dataset.state = 'saved';
  } catch (error) {
    const tooLarge = error instanceof ApiError && error.problem?.type?.endsWith('/pack-too-large');
    progress.textContent = tooLarge ? t('offline.tooLarge') : t('offline.failed', { detail: error instanceof NetworkError ? t('error.network') : error.message });
    progress.dataset.state = 'failed';
  } finally {
    button.disabled = false;
    renderOffline();
  }
}

function renderAccount() {
  const me = state.me || {};
  const c = claims() || {};
  replace($('#account-info'),
    h('p', { text: t('account.who', { sub: me.subject || c.sub || '?' }) }),
    h('p', { class: 'muted', text: t('account.role', { role: me.role || c.role || '?', agency: me.agency || c.agency || '?' }) }),
    c.exp && h('p', { class: 'muted', text: t('account.expires', { time: formatDateTime(new Date(c.exp * 1000)) }) }),
  );
  $('#language-select').value = lang();
}

async function signOut() {
  const pending = await pendingCount();
  if (pending && !window.confirm(t('account.signoutPending', { n: pending }))) return;
  await transaction(['outbox', 'handoffs'], 'readwrite', async (s) => {
    await done(s.outbox.clear());
    await done(s.handoffs.clear());
  });
  await clearToken();
  location.reload();
}

// --- sign-in -------------------------------------------------------------------------------

function showSignIn(message = '') {
  $('#signin').hidden = false;
  $('#app').hidden = true;
  const error = $('#signin-error');
  error.textContent = message;
  error.hidden = !message;
}

async function onSignIn(event) {
  event.preventDefault();
  const token = $('#signin-token').value.trim();
  if (!token) {
    showSignIn(t('signin.empty'));
    return;
  }
  await storeToken(token);
  $('#signin-token').value = '';
  await startSession();
}

async function startSession() {
  const check = state.online ? await checkToken() : 'unreachable';
  if (check === 'refused') {
    await clearToken();
    showSignIn(t('signin.refused'));
    return;
  }
  if (check === 'unreachable' && !state.me) state.me = (await getMeta('me')) || null;
  $('#signin').hidden = true;
  $('#app').hidden = false;
  if (!started) {
    started = true;
    await startApp();
  } else if (state.online) {
    flushOutbox();
  }
}

// --- start ---------------------------------------------------------------------------------

async function loadBasemap() {
  if (!state.online) return;
  try {
    state.basemap = await api('/v1/basemap.json');
  } catch (error) {
    state.basemap = null; // 404: the server has none; draw over a plain background
    if (!(error instanceof ApiError && error.status === 404) && !(error instanceof NetworkError)) console.warn('basemap', error);
  }
}

async function startApp() {
  await Promise.all([loadSavedArea(), loadCategories(), loadBasemap()]);
  createMap($('#map'));
  renderChips();
  initHandoff();
  updateNet();
  locate();
  if (state.online) {
    flushOutbox();
    if (state.pack) syncServices().catch((error) => console.warn('sync', error));
  }
  setInterval(() => {
    if (state.online && state.pack) syncServices().catch(() => {});
  }, 10 * 60_000);
}

function wire() {
  $('#lang-toggle').addEventListener('click', () => setLanguage(lang() === 'fr' ? 'en' : 'fr'));
  $('#language-select').addEventListener('change', (e) => setLanguage(e.target.value));
  $('#signin-form').addEventListener('submit', onSignIn);
  $('#signout').addEventListener('click', signOut);
  $('#offline-save').addEventListener('click', onSave);
  $('#detail-back').addEventListener('click', hideSite);
  $('#place-select').addEventListener('change', (e) => {
    const place = PLACES[Number(e.target.value)];
    if (place) setOrigin({ ...place, source: 'place' });
  });
  $('#place-centre').addEventListener('click', () => setOrigin({ ...mapCentre(), source: 'map' }));
  $('#place-locate').addEventListener('click', locate);
  $('#locate').addEventListener('click', locate);
  $('#sheet-toggle').addEventListener('click', () => {
    const sheet = $('#nearest');
    const expanded = sheet.dataset.expanded !== 'true';
    sheet.dataset.expanded = String(expanded);
    $('#sheet-toggle').dataset.i18n = expanded ? 'list.collapse' : 'list.expand';
    $('#sheet-toggle').textContent = t($('#sheet-toggle').dataset.i18n);
    setTimeout(resize, 0);
  });
  for (const button of $$('.tabbar button')) button.addEventListener('click', () => showView(button.dataset.tab));

  window.addEventListener('online', () => setOnline(true));
  window.addEventListener('offline', () => setOnline(false));
  on('network', async (online) => {
    updateNet();
    if (!started) return;
    if (online) await loadBasemap();
    refreshMap();
    refreshNearest();
    if (online) {
      flushOutbox();
      pollStatuses();
      if (state.pack) syncServices().catch((error) => console.warn('sync', error));
    }
  });
  on('outbox', updateNet);
  on('pack', () => { refreshMap(); updateNet(); renderOffline(); });
  on('synced', () => { renderOffline(); if ($('#nearest').dataset.source === 'phone') refreshNearest(); });
  on('sites-changed', () => { if ($('#nearest').dataset.source === 'phone') refreshNearest(); });
  on('select-site', async (ref) => showSite(await findSite(ref)));
  on('show-site', (site) => showSite(site));
  on('handoff-for', (site) => { showView('handoff'); prefill(site); });
  on('unauthorized', () => { if (started) showSignIn(t('signin.refused')); });
  onLanguageChange(() => {
    renderChips();
    rerenderNearest();
    renderForm();
    renderMine();
    renderOffline();
    renderAccount();
    updateNet();
    hideSite();
  });
}

function registerServiceWorker() {
  if (!('serviceWorker' in navigator) || !import.meta.env.PROD) return;
  navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' }).catch((error) => console.warn('service worker', error));
}

// For tests and for curious partners: what the app shows, without reading pixels.
window.fieldnavDebug = { state, renderedServices, sourceMode, syncServices, flushOutbox, getMap, emit };

async function boot() {
  initTheme();
  applyStatic(document);
  wire();
  updateNet();
  registerServiceWorker();
  await takeTokenFromFragment();
  await loadToken();
  if (!state.token) {
    showSignIn();
  } else if (expired()) {
    await clearToken();
    showSignIn(t('signin.refused'));
  } else {
    await startSession();
  }
}

boot().catch((error) => {
  console.error(error);
  toast(String(error.message || error), 'error');
});
