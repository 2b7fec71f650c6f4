// fieldnav's reference field client: start-up, views, and what ties the parts together.
import './styles.css';
import './theme.css';
import { ApiError, NetworkError, api } from './api.js';
import { claims, forgetSignIn, loadToken } from './auth.js';
import { renderChips } from './chips.js';
import { done, getMeta, setMeta, transaction } from './db.js';
import { findSite, hideSite, renderWaitingReports, rerenderSite, showSite } from './detail.js';
import { flushOutbox, initHandoff, pollStatuses, prefill, renderForm, renderMine } from './handoff.js';
import { applyStatic, formatDateTime, lang, onLanguageChange, roleLabel, setLanguage, t } from './i18n.js';
import {
  basemapShown, centreOn, createMap, fitArea, fitResults, getMap, mapCentre, refreshMap, renderedServices, resize, setStyleUrl, showStreetMap,
  sourceMode,
} from './map.js';
import { refreshNearest, rerenderNearest } from './nearest.js';
import { loadSavedArea, syncServices } from './offline.js';
import { onSave, renderOffline } from './offline-view.js';
import { createPlaceChooser } from './places.js';
import { flushAll, pendingAll, startOutboxes } from './outbox.js';
import { loadProvider, renderProvider, startProvider } from './provider.js';
import { closeReport, flushReports, initReport, renderReport } from './report.js';
import { closeShare, flushShares, initShare, renderShare, renderShareBar, renderWaitingShares } from './share.js';
import { hideSignIn, keepSessionAlive, renderBanner, resumeSession, showSignIn, signInWith, takeLink } from './session.js';
import { emit, on, roleMode, serverUsable, setOnline, state } from './state.js';
import { initTheme } from './theme.js';
import { $, $$, h, replace, toast } from './ui.js';

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

// --- network and sign-in state ---------------------------------------------------------------

async function updateNet() {
  const pill = $('#net-status');
  const pending = await pendingAll().catch(() => 0);
  const base = state.online ? (state.authLost ? t('net.signedOut') : t('net.online')) : state.pack ? t('net.offlinePack') : t('net.offline');
  pill.textContent = pending ? `${base} · ${t('net.pending', { n: pending })}` : base;
  pill.dataset.state = state.online ? 'online' : 'offline';
  pill.dataset.auth = state.authLost ? 'lost' : 'ok';
  pill.dataset.pending = String(pending);
  await renderBanner(pending);
}

// --- categories -----------------------------------------------------------------------------

async function loadCategories() {
  if (serverUsable()) {
    try {
      state.categories = (await api('/v1/categories')).categories;
      await setMeta('categories', state.categories);
      return;
    } catch (error) {
      if (!(error instanceof NetworkError || error instanceof ApiError)) console.warn('categories', error);
    }
  }
  state.categories = (await getMeta('categories')) || FALLBACK_CATEGORIES;
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
  closePlace();
  refreshMap();
  centreOn(origin);
  refreshNearest();
}

// The place chooser (places.js): a town, a postal code or an address, from GET /v1/places;
// offline, the fixed list above. Opened when the phone's position is refused, or on purpose
// (the person is not where the worker stands).
let placeChooser = null;

function openPlace({ refused }) {
  if (!placeChooser) placeChooser = createPlaceChooser({ container: $('#place-search'), onChoose: setOrigin, fallback: PLACES });
  $('#place-refused').hidden = !refused;
  $('#place').hidden = false;
  $('#place-open').setAttribute('aria-expanded', 'true');
  placeChooser.focus();
}

function closePlace() {
  $('#place').hidden = true;
  $('#place-open').setAttribute('aria-expanded', 'false');
}

async function choosePlace() {
  openPlace({ refused: true });
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
  for (const view of $$('#main > .view')) view.hidden = view.dataset.view !== name && view.dataset.view !== 'nearby';
  for (const button of $$('.tabbar button')) {
    if (button.dataset.tab === name) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
  }
  closeReport();
  closeShare();
  hideSite();
  if (name === 'handoff') { renderMine(); pollStatuses(); }
  if (name === 'offline') renderOffline();
  if (name === 'account') renderAccount();
}

function renderAccount() {
  const me = state.me || {};
  const c = claims() || {};
  const role = me.role || c.role;
  replace($('#account-info'),
    h('p', { text: t('account.who', { sub: me.subject || c.sub || '?' }) }),
    h('p', { class: 'muted', text: t('account.role', { role: role ? roleLabel(role) : '?', agency: me.agency || c.agency || '?' }) }),
    c.exp && h('p', { class: 'muted', text: t(c.exp * 1000 > Date.now() ? 'account.expires' : 'account.expired', { time: formatDateTime(new Date(c.exp * 1000)) }) }),
  );
  $('#language-select').value = lang();
}

async function signOut() {
  const pending = await pendingAll();
  if (pending && !window.confirm(t('account.signoutPending', { n: pending }))) return;
  await transaction(['outbox', 'handoffs', 'reports', 'shares', 'meta'], 'readwrite', async (s) => {
    await done(s.outbox.clear());
    await done(s.handoffs.clear());
    await done(s.reports.clear());
    await done(s.shares.clear());
    await done(s.meta.delete('providerServices'));
  });
  await forgetSignIn();
  location.reload();
}

// --- sign-in -------------------------------------------------------------------------------

async function onSignIn(event) {
  event.preventDefault();
  const outcome = await signInWith($('#signin-token').value.trim());
  if (outcome.error) {
    showSignIn(outcome.error, { over: Boolean(state.token) || started });
    return;
  }
  $('#signin-token').value = '';
  await enterApp();
}

// Show the app (starting it the first time); a new sign-in sends what waited for it. The
// role decides which app: a provider gets the provider view, never the field worker's map
// and list (the server would refuse them their data).
async function enterApp() {
  const mode = roleMode(state.me?.role || claims()?.role);
  if (started && mode !== state.mode) {
    location.reload(); // another kind of account signed in over the app: start as theirs
    return;
  }
  state.mode = mode;
  hideSignIn();
  if (!started) {
    started = true;
    await (mode === 'provider' ? startProviderApp() : startApp());
  }
  updateNet();
}

// A sign-in link opened while the app is already open (on either screen).
async function onHashChange() {
  const outcome = await takeLink();
  if (!outcome) return;
  if (outcome.error) showSignIn(outcome.error, { over: Boolean(state.token) });
  else await enterApp();
}

// --- start ---------------------------------------------------------------------------------

// What the server's API root (open to all) says of it: the street map it names (drawn while
// online) and whether directory reads need a token. Remembered for a start offline.
async function loadServerInfo() {
  if (state.online) {
    try {
      const root = await api('/');
      await setMeta('serverInfo', { basemapStyleUrl: root.basemap_style_url ?? null, publicReads: Boolean(root.public_reads) });
    } catch (error) {
      if (!(error instanceof ApiError || error instanceof NetworkError)) console.warn('server info', error);
    }
  }
  const info = (await getMeta('serverInfo')) || {};
  setStyleUrl(info.basemapStyleUrl || null);
  state.publicReads = Boolean(info.publicReads);
  return info;
}

async function loadBasemap() {
  await loadServerInfo();
  if (!serverUsable()) return;
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
  initReport();
  initShare();
  startOutboxes();
  updateNet();
  locate();
  if (serverUsable()) {
    flushAll();
    if (state.pack) syncServices().catch((error) => console.warn('sync', error));
  }
  setInterval(() => {
    if (serverUsable() && state.pack) syncServices().catch(() => {});
  }, 10 * 60_000);
  keepSessionAlive(updateNet);
}

async function startProviderApp() {
  $('#provider-signout').addEventListener('click', signOut);
  updateNet();
  keepSessionAlive(updateNet);
  await startProvider();
}

// Back in touch with the server (network back, or signed in again): everything that waited.
async function reconnected() {
  if (!started) return;
  if (state.mode === 'provider') {
    await loadProvider();
    return;
  }
  await loadBasemap();
  refreshMap();
  showStreetMap({ retry: true });
  refreshNearest();
  if (!serverUsable()) return;
  flushAll();
  pollStatuses();
  if (state.pack) syncServices().catch((error) => console.warn('sync', error));
}

function wire() {
  $('#lang-toggle').addEventListener('click', () => setLanguage(lang() === 'fr' ? 'en' : 'fr'));
  $('#language-select').addEventListener('change', (e) => setLanguage(e.target.value));
  $('#signin-form').addEventListener('submit', onSignIn);
  $('#signin-close').addEventListener('click', enterApp);
  $('#signout').addEventListener('click', signOut);
  $('#offline-save').addEventListener('click', onSave);
  $('#detail-back').addEventListener('click', hideSite);
  $('#place-open').addEventListener('click', () => ($('#place').hidden ? openPlace({ refused: false }) : closePlace()));
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
  window.addEventListener('hashchange', onHashChange);
  on('network', async (online) => {
    updateNet();
    renderShare(); // print and QR need the server: enabled or not
    if (!started) return;
    if (online) await resumeSession();
    await reconnected();
  });
  on('auth', async (kind) => {
    updateNet();
    if (kind === 'lost' && state.mode === 'provider') {
      renderProvider();
    } else if (kind === 'lost') {
      refreshMap(); // the saved area draws the map until the worker signs in again
      refreshNearest();
    } else if (kind === 'signed-in') {
      await reconnected();
    }
  });
  on('outbox', updateNet);
  on('category', selectCategory);
  on('filters', () => { refreshMap(); refreshNearest(); });
  on('app-shown', () => setTimeout(resize, 0));
  on('pack', () => { refreshMap(); updateNet(); renderOffline(); });
  on('synced', () => { renderOffline(); if ($('#nearest').dataset.source === 'phone') refreshNearest(); });
  on('sites-changed', () => { if ($('#nearest').dataset.source === 'phone') refreshNearest(); });
  on('select-site', async (ref) => showSite(await findSite(ref)));
  on('show-site', (site) => showSite(site));
  on('show-area', (bbox) => { showView('nearby'); fitArea(bbox); });
  on('handoff-for', (site) => { showView('handoff'); prefill(site); });
  on('reports-changed', () => { renderWaitingReports(); updateNet(); });
  on('shares-changed', () => { renderWaitingShares(); updateNet(); });
  // Choosing services to share happens on the list: the card gives way.
  on('share-selecting', (selecting) => {
    if (selecting) hideSite();
    rerenderNearest();
  });
  onLanguageChange(() => {
    labelLanguageButton();
    if (state.mode === 'provider') {
      renderProvider();
      updateNet();
      return;
    }
    renderChips();
    rerenderNearest();
    renderForm();
    renderMine();
    renderOffline();
    renderAccount();
    updateNet();
    rerenderSite();
    renderReport();
    renderShare();
    renderShareBar();
  });
}

function registerServiceWorker() {
  if (!('serviceWorker' in navigator) || !import.meta.env.PROD) return;
  navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' }).catch((error) => console.warn('service worker', error));
}

// For tests and for curious partners: what the app shows, without reading pixels.
window.fieldnavDebug = {
  state, renderedServices, sourceMode, basemapShown, syncServices, flushOutbox, flushReports, flushShares, flushAll, getMap, emit,
};

// The language button is named in the language it switches to.
function labelLanguageButton() {
  $('#lang-toggle').lang = lang() === 'fr' ? 'en' : 'fr';
}

async function boot() {
  initTheme();
  applyStatic(document);
  labelLanguageButton();
  wire();
  registerServiceWorker();
  const link = await takeLink();
  await loadToken();
  if (!state.token) {
    // Directory reads open to all (FIELDNAV_AUTH_PUBLIC_READS): the map and the list at once;
    // signing in (the banner's button) is for what needs a token.
    if (!link?.error && (await loadServerInfo()).publicReads) {
      await enterApp();
      return;
    }
    showSignIn(link?.error || '');
    return;
  }
  if (!link) await resumeSession();
  if (link?.error) {
    // A refused link with an ended token behind it: say so; the app is one tap away.
    showSignIn(link.error, { over: true });
    return;
  }
  await enterApp();
}

boot().catch((error) => {
  console.error(error);
  toast(String(error.message || error), 'error');
});
