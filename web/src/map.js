// The map: MapLibre GL JS over fieldnav's vector tiles (/v1/tiles.json), or, offline, over
// the saved area's PMTiles archives read from the phone through the pmtiles protocol.
// The basemap, the first of these that works: online, the street map the server names (a
// MapLibre style, FIELDNAV_BASEMAP_STYLE_URL, with fieldnav's layers added on top); the saved
// area's basemap; the server's PMTiles basemap (/v1/basemap.json); else a plain background.
// The map is drawn at once from what the phone has; the street map replaces it when (and
// only if) its style loads within STYLE_TIMEOUT_MS.
import * as maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import { PMTiles, Protocol } from 'pmtiles';
import { categoryLabel, lang, onLanguageChange, t } from './i18n.js';
import { emit, serverUsable, state } from './state.js';
import { currentTheme, onThemeChange } from './theme.js';

// The worker is a file of the build (never a third-party URL).
maplibregl.setWorkerUrl(workerUrl);

const protocol = new Protocol({ metadata: true });
maplibregl.addProtocol('pmtiles', protocol.tile);

export const POINTS_MIN_ZOOM = 13;
const DEFAULT_VIEW = { center: [-79.3839, 43.6534], zoom: 11 };
const CATEGORY_COLOURS = [
  ['crisis', '#c62828'],
  ['shelter', '#6a1b9a'],
  ['mental_health', '#1565c0'],
  ['food', '#2e7d32'],
  ['senior_support', '#ef6c00'],
];
// The same hues, lighter: they stand out of a dark basemap as the others do of a light one.
const CATEGORY_COLOURS_DARK = [
  ['crisis', '#ef5350'],
  ['shelter', '#ce93d8'],
  ['mental_health', '#64b5f6'],
  ['food', '#81c784'],
  ['senior_support', '#ffb74d'],
];

// The map's colours in each theme (theme.js): light, dark, and outdoor (light, high contrast:
// points ringed in black, a darker area line).
const PALETTES = {
  light: {
    categories: CATEGORY_COLOURS, other: '#00796b', cluster: '#00796b', clusterCategory: '#0b5e7e',
    stroke: '#ffffff', strokeWidth: 2, origin: '#1a73e8', originStroke: '#ffffff', area: '#0b5e7e',
    background: '#eef2f5', basemapBackground: '#efebe3',
  },
  dark: {
    categories: CATEGORY_COLOURS_DARK, other: '#4db6ac', cluster: '#26a69a', clusterCategory: '#4fa8c9',
    stroke: '#0f1418', strokeWidth: 2, origin: '#4d94ff', originStroke: '#ffffff', area: '#72c7e6',
    background: '#161c21', basemapBackground: '#1c2226',
  },
  outdoor: {
    categories: CATEGORY_COLOURS, other: '#00796b', cluster: '#00796b', clusterCategory: '#004760',
    stroke: '#000000', strokeWidth: 2.5, origin: '#1a73e8', originStroke: '#000000', area: '#004760',
    background: '#eef2f5', basemapBackground: '#efebe3',
  },
};

// The street map is light whatever the theme: fieldnav's marks in their light colours on it.
function themePalette(theme, onStreetMap) {
  if (theme.contrast === 'high') return PALETTES.outdoor;
  return theme.scheme === 'dark' && !onStreetMap ? PALETTES.dark : PALETTES.light;
}

export function mapPalette(theme = currentTheme()) {
  return themePalette(theme, streetMapShown());
}

let map = null;
let wired = false;

// --- the street map (a third-party MapLibre style) ------------------------------------------

export const STYLE_TIMEOUT_MS = 4000;
// The style's URL (from the server), its JSON once loaded (URLs made absolute), and why not.
const street = { url: null, style: null, failed: false, loading: null };
const OWN_SOURCES = new Set(['services', 'origin', 'area', 'basemap']);
const OWN_LAYERS = new Set(['background', 'area', 'clusters', 'services', 'origin']);

// The style the server names (null: none). A new URL is loaded afresh.
export function setStyleUrl(url) {
  const next = url || null;
  if (next === street.url) return;
  Object.assign(street, { url: next, style: null, failed: false, loading: null });
}

// Is the street map drawn right now (for tests and the legend's colours)?
export function streetMapShown() {
  return Boolean(map) && shownBasemap === 'style';
}

// What the map draws under the services: 'style' (the street map), 'pack', 'network' or 'none'.
let shownBasemap = 'none';

export function basemapShown() {
  return map ? shownBasemap : null;
}

function absolute(url, base) {
  if (typeof url !== 'string' || /^[a-z][a-z0-9+.-]*:/i.test(url)) return url;
  // URL() percent-encodes the template's braces: put them back.
  return new URL(url, base).href.replace(/%7B/gi, '{').replace(/%7D/gi, '}');
}

// The style as loaded, with what it names made absolute (a style object has no base URL),
// and its ids moved out of the way of fieldnav's own.
function adoptStyle(json, base) {
  if (!json || json.version !== 8 || typeof json.sources !== 'object' || !Array.isArray(json.layers)) {
    throw new Error('not a MapLibre style');
  }
  const renamedSources = {};
  const sources = {};
  for (const [id, source] of Object.entries(json.sources)) {
    const name = OWN_SOURCES.has(id) ? `street-${id}` : id;
    renamedSources[id] = name;
    const copy = { ...source };
    if (copy.url) copy.url = absolute(copy.url, base);
    if (Array.isArray(copy.tiles)) copy.tiles = copy.tiles.map((t) => absolute(t, base));
    if (typeof copy.data === 'string') copy.data = absolute(copy.data, base);
    sources[name] = copy;
  }
  const layers = json.layers.map((layer) => {
    const copy = { ...layer };
    if (OWN_LAYERS.has(copy.id)) copy.id = `street-${copy.id}`;
    if (copy.source && renamedSources[copy.source]) copy.source = renamedSources[copy.source];
    return copy;
  });
  const style = { sources, layers };
  if (json.glyphs) style.glyphs = absolute(json.glyphs, base);
  if (typeof json.sprite === 'string') style.sprite = absolute(json.sprite, base);
  else if (Array.isArray(json.sprite)) style.sprite = json.sprite.map((s) => ({ ...s, url: absolute(s.url, base) }));
  return style;
}

// Load the style once, within STYLE_TIMEOUT_MS; a failure (no network, a refusal, no answer,
// not a style) leaves the map as it is, drawn from what the phone and the server have.
export function loadStreetStyle() {
  if (!street.url || street.style || street.failed || !navigator.onLine) return Promise.resolve(Boolean(street.style));
  if (street.loading) return street.loading;
  const url = street.url;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), STYLE_TIMEOUT_MS);
  street.loading = (async () => {
    try {
      const response = await fetch(url, { signal: controller.signal, credentials: 'omit', headers: { Accept: 'application/json' } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const style = adoptStyle(await response.json(), response.url || url);
      if (street.url !== url) return false;
      street.style = style;
      return true;
    } catch (error) {
      if (street.url === url) street.failed = true;
      console.warn('street map: drawn without it', url, error.message || error);
      return false;
    } finally {
      clearTimeout(timer);
      if (street.url === url) street.loading = null;
    }
  })();
  return street.loading;
}

// The street map failed after it was drawn (its tiles or sprite refused): draw without it.
function dropStreetStyle(reason) {
  if (street.failed) return;
  street.failed = true;
  console.warn('street map: drawn without it', reason);
  refreshMap();
}

function useStreetStyle(mode) {
  return mode === 'network' && Boolean(street.style) && !street.failed && state.online && navigator.onLine;
}

// A PMTiles archive kept on the phone (a Blob in IndexedDB), read by byte ranges.
class BlobSource {
  constructor(key, blob) {
    this.key = key;
    this.blob = blob;
  }

  getKey() {
    return this.key;
  }

  async getBytes(offset, length) {
    return { data: await this.blob.slice(offset, offset + length).arrayBuffer() };
  }
}

const registered = new Map(); // key -> Blob

function registerArchive(key, blob) {
  if (registered.get(key) === blob) return;
  protocol.add(new PMTiles(new BlobSource(key, blob)));
  registered.set(key, blob);
}

function packKeys(pack) {
  return { services: `fieldnav-pack-${pack.id}`, basemap: `fieldnav-basemap-${pack.id}` };
}

// Offline or signed out (the server would refuse the tiles), with a saved area: draw from the
// phone. Otherwise from the network.
export function sourceMode() {
  return !serverUsable() && state.pack ? 'pack' : 'network';
}

function groupsHave(code) {
  return ['in', `,${code},`, ['concat', ',', ['get', 'groups'], ',']];
}

function basemapColour(layer, kind, dark = currentTheme().scheme === 'dark') {
  const name = layer.toLowerCase();
  if (dark) {
    if (/water|ocean|sea|lake|river|bay/.test(name)) return kind === 'line' ? '#2f5f80' : '#1d3a4f';
    if (/park|green|wood|forest|grass|nature|landcover/.test(name)) return '#1f3326';
    if (/building/.test(name)) return '#2b2f34';
    if (/road|street|transport|highway|path/.test(name)) return '#454e57';
    if (/boundar|admin/.test(name)) return '#75628a';
    return kind === 'line' ? '#3a4046' : '#1c2226';
  }
  if (/water|ocean|sea|lake|river|bay/.test(name)) return kind === 'line' ? '#8cc3e8' : '#b5d8f2';
  if (/park|green|wood|forest|grass|nature|landcover/.test(name)) return '#d4e9c8';
  if (/building/.test(name)) return '#e3ded6';
  if (/road|street|transport|highway|path/.test(name)) return '#ffffff';
  if (/boundar|admin/.test(name)) return '#b9a8c9';
  return kind === 'line' ? '#cfcac0' : '#efebe3';
}

function basemapLayers(source, info) {
  if (!info) return [];
  if (info.type === 'raster') return [{ id: 'basemap-raster', type: 'raster', source }];
  const layers = [];
  for (const id of info.layers) {
    layers.push({
      id: `basemap-${id}-fill`, type: 'fill', source, 'source-layer': id,
      filter: ['==', ['geometry-type'], 'Polygon'],
      paint: { 'fill-color': basemapColour(id, 'fill') },
    });
    layers.push({
      id: `basemap-${id}-line`, type: 'line', source, 'source-layer': id,
      filter: ['==', ['geometry-type'], 'LineString'],
      paint: { 'line-color': basemapColour(id, 'line'), 'line-width': ['interpolate', ['linear'], ['zoom'], 10, 0.5, 16, 3] },
    });
  }
  return layers;
}

function networkBasemap() {
  const tj = state.basemap;
  if (!tj) return null;
  const source = { type: tj.type, tiles: tj.tiles, minzoom: tj.minzoom, maxzoom: tj.maxzoom, bounds: tj.bounds, attribution: tj.attribution };
  if (tj.type === 'raster') source.tileSize = 256;
  return { source, info: { type: tj.type, layers: (tj.vector_layers || []).map((l) => l.id) } };
}

function packBasemap(pack) {
  const info = pack.manifest.basemap;
  if (!info || !pack.basemap) return null;
  const key = packKeys(pack).basemap;
  registerArchive(key, pack.basemap);
  const source = { type: info.type, url: `pmtiles://${key}` };
  if (info.type === 'raster') source.tileSize = 256;
  return { source, info };
}

export function buildStyle() {
  const mode = sourceMode();
  const streetStyle = useStreetStyle(mode) ? street.style : null;
  const sources = streetStyle ? { ...streetStyle.sources } : {};
  let basemap = null;
  let basemapKind = streetStyle ? 'style' : 'none';
  if (mode === 'pack') {
    const key = packKeys(state.pack).services;
    registerArchive(key, state.pack.archive);
    sources.services = { type: 'vector', url: `pmtiles://${key}` };
  } else {
    sources.services = { type: 'vector', url: `${location.origin}/v1/tiles.json` };
  }
  if (!streetStyle) {
    // The saved area's basemap (on the phone), else the server's while it can be reached.
    basemap = state.pack ? packBasemap(state.pack) : null;
    if (basemap) basemapKind = 'pack';
    else if (mode === 'network' && (basemap = networkBasemap())) basemapKind = 'network';
  }
  if (basemap) sources.basemap = basemap.source;

  const category = state.category;
  const palette = themePalette(currentTheme(), Boolean(streetStyle));
  const count = category ? ['coalesce', ['get', category], 0] : ['coalesce', ['get', 'count'], 0];
  const pointColour = ['case', ...palette.categories.flatMap(([code, colour]) => [groupsHave(code), colour]), palette.other];
  const origin = state.origin;
  const area = state.pack?.manifest?.bbox;
  sources.origin = {
    type: 'geojson',
    data: { type: 'FeatureCollection', features: origin ? [{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [origin.lon, origin.lat] } }] : [] },
  };
  sources.area = {
    type: 'geojson',
    data: {
      type: 'FeatureCollection',
      features: area ? [{
        type: 'Feature', properties: {},
        geometry: { type: 'Polygon', coordinates: [[[area[0], area[1]], [area[2], area[1]], [area[2], area[3]], [area[0], area[3]], [area[0], area[1]]]] },
      }] : [],
    },
  };

  const servicesFilter = category ? { filter: groupsHave(category) } : {};
  const under = streetStyle ? streetStyle.layers : [
    { id: 'background', type: 'background', paint: { 'background-color': basemap ? palette.basemapBackground : palette.background } },
    ...(basemap ? basemapLayers('basemap', basemap.info) : []),
  ];
  return {
    version: 8,
    name: `fieldnav-${mode}`,
    metadata: { 'fieldnav:mode': mode, 'fieldnav:basemap': basemapKind },
    ...(streetStyle?.glyphs ? { glyphs: streetStyle.glyphs } : {}),
    ...(streetStyle?.sprite ? { sprite: streetStyle.sprite } : {}),
    sources,
    layers: [
      ...under,
      { id: 'area', type: 'line', source: 'area', paint: { 'line-color': palette.area, 'line-width': 2, 'line-dasharray': [2, 2] } },
      {
        id: 'clusters', type: 'circle', source: 'services', 'source-layer': 'clusters',
        filter: ['>', count, 0],
        paint: {
          'circle-color': category ? palette.clusterCategory : palette.cluster,
          'circle-opacity': 0.8,
          'circle-radius': ['interpolate', ['linear'], ['sqrt', count], 1, 6, 10, 20, 40, 34],
          'circle-stroke-color': palette.stroke,
          'circle-stroke-width': palette.strokeWidth,
        },
      },
      {
        id: 'services', type: 'circle', source: 'services', 'source-layer': 'services', ...servicesFilter,
        paint: {
          'circle-color': pointColour,
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 13, 6, 17, 10],
          'circle-stroke-color': palette.stroke,
          'circle-stroke-width': palette.strokeWidth,
        },
      },
      {
        id: 'origin', type: 'circle', source: 'origin',
        paint: { 'circle-color': palette.origin, 'circle-radius': 8, 'circle-stroke-color': palette.originStroke, 'circle-stroke-width': 3 },
      },
    ],
  };
}

function transformRequest(url) {
  // Only our own API gets the token; a pmtiles:// read never leaves the phone.
  if (url.startsWith(`${location.origin}/v1/`) && state.token) {
    return { url, headers: { Authorization: `Bearer ${state.token}` } };
  }
  return { url };
}

// --- the controls' words --------------------------------------------------------------------

// MapLibre's own control labels (its `locale` table) in the app's language.
function mapLocale() {
  const strings = {
    'NavigationControl.ZoomIn': t('map.zoomIn'),
    'NavigationControl.ZoomOut': t('map.zoomOut'),
    'AttributionControl.ToggleAttribution': t('map.attribution'),
  };
  // The map itself ('Map' to a screen reader): translated once i18n.js has the string.
  if (t('map.title') !== 'map.title') strings['Map.Title'] = t('map.title');
  return strings;
}

function label(element, text) {
  if (!element) return;
  element.title = text;
  element.setAttribute('aria-label', text);
}

// A language change: MapLibre has no public way to change its table, and its controls read it
// only when made, so the buttons are relabelled here and the table patched for later reads.
function localiseControls() {
  if (!map) return;
  const strings = mapLocale();
  if (map._locale) map._locale = { ...map._locale, ...strings };
  const root = map.getContainer();
  label(root.querySelector('.maplibregl-ctrl-zoom-in'), strings['NavigationControl.ZoomIn']);
  label(root.querySelector('.maplibregl-ctrl-zoom-out'), strings['NavigationControl.ZoomOut']);
  label(root.querySelector('.maplibregl-ctrl-attrib-button'), strings['AttributionControl.ToggleAttribution']);
  if (strings['Map.Title']) map.getCanvas().setAttribute('aria-label', strings['Map.Title']);
  legend?.localise();
}

// --- the legend ------------------------------------------------------------------------------

// Three dots in the map's colours beside three lines: a key to the map.
const LEGEND_ICON = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">'
  + '<circle cx="5" cy="5.5" r="3" fill="#c62828"/><circle cx="5" cy="12" r="3" fill="#1565c0"/><circle cx="5" cy="18.5" r="3" fill="#2e7d32"/>'
  + '<path d="M10 4.5h11v2H10zM10 11h11v2H10zM10 17.5h11v2H10z"/></svg>';
const CLOSE_ICON = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M18.3 5.7 16.9 4.3 12 9.2 7.1 4.3 5.7 5.7 10.6 12l-4.9 4.9 1.4 1.4 4.9-4.9 4.9 4.9 1.4-1.4-4.9-4.9z"/></svg>';

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else if (name === 'style') Object.assign(node.style, value);
    else node.setAttribute(name, value);
  }
  node.append(...children.filter(Boolean));
  return node;
}

// A map control (a button at the bottom left) and its panel, over the map and the list:
// what the colours, circles and lines on the map mean, in the app's language and theme.
class LegendControl {
  onAdd() {
    // An icon of coloured dots, the map's own marks: the map is short on a phone, and the
    // taps on its points keep a free middle (the controls stay in its corners).
    this.button = el('button', {
      type: 'button', id: 'map-legend-button', class: 'map-legend-button', 'aria-expanded': 'false', 'aria-controls': 'map-legend',
    });
    this.button.innerHTML = LEGEND_ICON;
    this.button.addEventListener('click', () => (this.isOpen() ? this.close() : this.open()));
    this.container = el('div', { class: 'maplibregl-ctrl maplibregl-ctrl-group' }, this.button);
    this.panel = el('section', { id: 'map-legend', class: 'map-legend', role: 'dialog', 'aria-labelledby': 'map-legend-title' });
    this.panel.hidden = true;
    this.panel.addEventListener('keydown', (event) => { if (event.key === 'Escape') this.close(); });
    this.onKey = (event) => { if (event.key === 'Escape' && this.isOpen()) this.close(); };
    document.addEventListener('keydown', this.onKey);
    this.localise();
    return this.container;
  }

  onRemove() {
    document.removeEventListener('keydown', this.onKey);
    this.container.remove();
    this.panel.remove();
  }

  // The panel sits beside the map (in the Nearby view), not in it: the map is too short on
  // a phone to hold it.
  attach(mapContainer) {
    mapContainer.after(this.panel);
  }

  isOpen() {
    return !this.panel.hidden;
  }

  open() {
    this.render();
    this.panel.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    this.panel.querySelector('.map-legend-close')?.focus();
  }

  close() {
    if (!this.isOpen()) return;
    this.panel.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
    if (this.button.isConnected && this.button.offsetParent !== null) this.button.focus();
  }

  localise() {
    label(this.button, t('map.legend'));
    if (this.isOpen()) this.render();
  }

  render() {
    const palette = mapPalette();
    const stroke = { borderColor: palette.stroke };
    const swatch = (child) => el('span', { class: 'legend-swatch', 'aria-hidden': 'true' }, child);
    const row = (child, text, code) => el('li', code ? { 'data-code': code } : {}, swatch(child), el('span', { text }));
    const categories = palette.categories.map(([code, colour]) => {
      const category = state.categories.find((c) => c.code === code);
      return row(el('span', { class: 'legend-dot', style: { background: colour, ...stroke } }), category ? categoryLabel(category) : code, code);
    });
    const close = el('button', { type: 'button', class: 'map-legend-close' });
    close.innerHTML = CLOSE_ICON;
    label(close, t('map.legendClose'));
    close.addEventListener('click', () => this.close());
    this.panel.setAttribute('lang', lang());
    this.panel.replaceChildren(
      el('div', { class: 'map-legend-head' }, el('h2', { id: 'map-legend-title', text: t('map.legend') }), close),
      el('ul', {},
        ...categories,
        row(el('span', { class: 'legend-dot', style: { background: palette.other, ...stroke } }), t('map.other'), 'other'),
        row(el('span', { class: 'legend-dot legend-cluster', style: { background: state.category ? palette.clusterCategory : palette.cluster, opacity: '0.8', ...stroke } }), t('map.cluster'), 'cluster'),
        row(el('span', { class: 'legend-dot legend-origin', style: { background: palette.origin, borderColor: palette.originStroke } }), t('map.you'), 'origin'),
        row(el('span', { class: 'legend-area', style: { borderTopColor: palette.area } }), t('map.savedArea'), 'area'),
      ),
    );
  }
}

let legend = null;

export function legendControl() {
  return legend;
}

export function createMap(container) {
  const view = state.origin ? { center: [state.origin.lon, state.origin.lat], zoom: POINTS_MIN_ZOOM } : DEFAULT_VIEW;
  const style = buildStyle();
  shownBasemap = style.metadata['fieldnav:basemap'];
  map = new maplibregl.Map({
    container,
    style,
    ...view,
    maxZoom: 18,
    transformRequest,
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    attributionControl: { compact: true },
    locale: mapLocale(),
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  legend = new LegendControl();
  map.addControl(legend, 'bottom-left');
  legend.attach(container);
  if (!wired) {
    wired = true;
    onLanguageChange(localiseControls);
    // A new theme: the map's colours (a diff of paint properties) and the legend's swatches.
    onThemeChange(() => refreshMap());
  }
  map.on('click', 'clusters', (e) => {
    const feature = e.features?.[0];
    if (feature) map.easeTo({ center: feature.geometry.coordinates, zoom: Math.min(map.getZoom() + 2, POINTS_MIN_ZOOM) });
  });
  map.on('click', 'services', (e) => {
    const feature = e.features?.[0];
    if (!feature) return;
    const [lon, lat] = feature.geometry.coordinates;
    // The feature id is the site's site_key (service/maps/tiles.py), at every zoom.
    emit('select-site', { site_key: feature.id ?? null, name: feature.properties.name || null, lon, lat });
  });
  for (const layer of ['clusters', 'services']) {
    map.on('mouseenter', layer, () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', layer, () => { map.getCanvas().style.cursor = ''; });
  }
  map.once('idle', () => {
    // Attribution stays one tap away (the (i) button), not over a third of a phone's map.
    const attribution = container.querySelector('.maplibregl-ctrl-attrib.maplibregl-compact-show');
    attribution?.classList.remove('maplibregl-compact-show');
    attribution?.removeAttribute('open');
  });
  // The street map's own failures (its tiles refused, its server gone after the style came):
  // without a single tile of it drawn within STYLE_TIMEOUT_MS, the map goes on without it.
  map.on('error', (e) => {
    if (e.sourceId && street.style?.sources[e.sourceId] && streetMapShown()) streetHealth.errors += 1;
    else console.error(e.error || e); // what MapLibre does with an error nobody listens to
  });
  map.on('sourcedata', (e) => {
    if (e.tile && e.sourceId && street.style?.sources[e.sourceId]) streetHealth.tiles += 1;
  });
  showStreetMap();
  map.on('idle', () => {
    container.dataset.mode = sourceMode();
    container.dataset.basemap = shownBasemap;
    container.dataset.renderedServices = String(renderedServices());
    container.dataset.idle = 'true';
  });
  map.on('dataloading', () => { container.dataset.idle = 'false'; });
  return map;
}

export function getMap() {
  return map;
}

// Services (points or clusters) drawn right now: what a test or a person sees.
export function renderedServices() {
  if (!map || !map.getLayer('services')) return 0;
  return map.queryRenderedFeatures({ layers: ['services', 'clusters'] }).length;
}

const streetHealth = { errors: 0, tiles: 0, timer: null };

// Load the street map (when the server names one and the phone is online) and draw it; then
// keep an eye on it for STYLE_TIMEOUT_MS.
export async function showStreetMap({ retry = false } = {}) {
  if (retry && street.failed && navigator.onLine) Object.assign(street, { failed: false, style: null });
  if (!(await loadStreetStyle()) || !map) return;
  if (streetMapShown()) return;
  refreshMap();
  if (!streetMapShown()) return;
  Object.assign(streetHealth, { errors: 0, tiles: 0 });
  clearTimeout(streetHealth.timer);
  streetHealth.timer = setTimeout(() => {
    if (streetMapShown() && streetHealth.errors > 0 && streetHealth.tiles === 0) dropStreetStyle('its tiles did not load');
  }, STYLE_TIMEOUT_MS);
}

export function refreshMap() {
  if (!map) return;
  const next = buildStyle();
  const current = map.getStyle();
  const modeChanged = current?.metadata?.['fieldnav:mode'] !== next.metadata['fieldnav:mode']
    || shownBasemap !== next.metadata['fieldnav:basemap'];
  shownBasemap = next.metadata['fieldnav:basemap'];
  map.getContainer().dataset.idle = 'false';
  // A new source (network <-> phone) is a new style; a new filter or point is a diff.
  map.setStyle(next, { diff: !modeChanged });
  map.triggerRepaint(); // a diff with nothing new renders nothing, and 'idle' would never come
  if (legend?.isOpen()) legend.render(); // the cluster colour follows the category
}

export function centreOn(origin, zoom = POINTS_MIN_ZOOM) {
  if (!map) return;
  map.jumpTo({ center: [origin.lon, origin.lat], zoom: Math.max(map.getZoom(), zoom) });
}

// Show the worker's position and the first few results together.
export function fitResults(origin, results, count = 3) {
  if (!map || !origin) return;
  const points = [[origin.lon, origin.lat], ...results.filter((r) => r.lat != null).slice(0, count).map((r) => [r.lon, r.lat])];
  if (points.length < 2) return;
  const lons = points.map((p) => p[0]), lats = points.map((p) => p[1]);
  map.fitBounds([[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]], { padding: 40, maxZoom: 15, animate: false });
}

export function fitArea(bbox) {
  if (map) map.fitBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], { padding: 20, animate: false });
}

export function viewArea() {
  const b = map.getBounds();
  return { bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], zoom: map.getZoom() };
}

export function mapCentre() {
  const c = map.getCenter();
  return { lat: c.lat, lon: c.lng };
}

export function resize() {
  map?.resize();
}
