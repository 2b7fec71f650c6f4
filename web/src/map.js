// The map: MapLibre GL JS over fieldnav's vector tiles (/v1/tiles.json), or, offline, over
// the saved area's PMTiles archives read from the phone through the pmtiles protocol.
// The basemap is the server's (/v1/basemap.json) when it has one, else a plain background.
import * as maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import { PMTiles, Protocol } from 'pmtiles';
import { state, emit } from './state.js';

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

let map = null;

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

// Offline, with a saved area: draw from the phone. Otherwise from the network.
export function sourceMode() {
  return !state.online && state.pack ? 'pack' : 'network';
}

function groupsHave(code) {
  return ['in', `,${code},`, ['concat', ',', ['get', 'groups'], ',']];
}

function basemapColour(layer, kind) {
  const name = layer.toLowerCase();
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
  const sources = {};
  let basemap = null;
  if (mode === 'pack') {
    const key = packKeys(state.pack).services;
    registerArchive(key, state.pack.archive);
    sources.services = { type: 'vector', url: `pmtiles://${key}` };
    basemap = packBasemap(state.pack);
  } else {
    sources.services = { type: 'vector', url: `${location.origin}/v1/tiles.json` };
    basemap = networkBasemap();
  }
  if (basemap) sources.basemap = basemap.source;

  const category = state.category;
  const count = category ? ['coalesce', ['get', category], 0] : ['coalesce', ['get', 'count'], 0];
  const pointColour = ['case', ...CATEGORY_COLOURS.flatMap(([code, colour]) => [groupsHave(code), colour]), '#00796b'];
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
  return {
    version: 8,
    name: `fieldnav-${mode}`,
    metadata: { 'fieldnav:mode': mode },
    sources,
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': basemap ? '#efebe3' : '#eef2f5' } },
      ...(basemap ? basemapLayers('basemap', basemap.info) : []),
      { id: 'area', type: 'line', source: 'area', paint: { 'line-color': '#0b5e7e', 'line-width': 2, 'line-dasharray': [2, 2] } },
      {
        id: 'clusters', type: 'circle', source: 'services', 'source-layer': 'clusters',
        filter: ['>', count, 0],
        paint: {
          'circle-color': category ? '#0b5e7e' : '#00796b',
          'circle-opacity': 0.8,
          'circle-radius': ['interpolate', ['linear'], ['sqrt', count], 1, 6, 10, 20, 40, 34],
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': 2,
        },
      },
      {
        id: 'services', type: 'circle', source: 'services', 'source-layer': 'services', ...servicesFilter,
        paint: {
          'circle-color': pointColour,
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 13, 6, 17, 10],
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': 2,
        },
      },
      {
        id: 'origin', type: 'circle', source: 'origin',
        paint: { 'circle-color': '#1a73e8', 'circle-radius': 8, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 3 },
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

export function createMap(container) {
  const view = state.origin ? { center: [state.origin.lon, state.origin.lat], zoom: POINTS_MIN_ZOOM } : DEFAULT_VIEW;
  map = new maplibregl.Map({
    container,
    style: buildStyle(),
    ...view,
    maxZoom: 18,
    transformRequest,
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    attributionControl: { compact: true },
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.on('click', 'clusters', (e) => {
    const feature = e.features?.[0];
    if (feature) map.easeTo({ center: feature.geometry.coordinates, zoom: Math.min(map.getZoom() + 2, POINTS_MIN_ZOOM) });
  });
  map.on('click', 'services', (e) => {
    const feature = e.features?.[0];
    if (!feature) return;
    const [lon, lat] = feature.geometry.coordinates;
    // The feature id is the site's site_key (service/tiles.py), at every zoom.
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
  map.on('idle', () => {
    container.dataset.mode = sourceMode();
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

export function refreshMap() {
  if (!map) return;
  const next = buildStyle();
  const current = map.getStyle();
  const modeChanged = current?.metadata?.['fieldnav:mode'] !== next.metadata['fieldnav:mode'];
  map.getContainer().dataset.idle = 'false';
  // A new source (network <-> phone) is a new style; a new filter or point is a diff.
  map.setStyle(next, { diff: !modeChanged });
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
