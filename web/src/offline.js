// The saved offline area: an offline pack (PMTiles archive + basemap part + services
// snapshot) kept in IndexedDB, the nearest list computed on the phone from it, and delta
// sync (/v1/sync/services) when the network returns.
//
// One saved area per phone: saving another replaces it. The sites of the area are kept up
// to date by sync: the first run pages through the directory once (keeping only the sites
// in the area) to reach a delta cursor; later runs fetch only what changed since.
import { ApiError, api, request } from './api.js';
import { hasFreeCapacity, withFreshness } from './capacity.js';
import { GENDER_GROUP, populationValues } from './chips.js';
import { done, getMeta, transaction } from './db.js';
import { haversineM, inBbox } from './geo.js';
import { hoursAt } from './hours.js';
import { state, emit } from './state.js';
import { sleep } from './ui.js';

const PACK_MAX_ZOOM = 16;
// The default saved area holds at least this many of each chosen category (the list's length)...
export const AREA_MIN_PER_CATEGORY = 10;
// ...reaching at most this far from the worker (a rural patrol can be thin even then: the
// save screen says so).
export const AREA_MAX_RADIUS_M = 30_000;
const AREA_MIN_RADIUS_M = 1_500;
const METRES_PER_DEGREE = 111_320;
const BUILD_TRIES = 6;
const MAX_BUILD_WAIT_S = 30;

export async function loadSavedArea() {
  const [packs, staleAfterS] = await transaction(['packs', 'meta'], 'readonly', async (s) => [
    await done(s.packs.getAll()), await done(s.meta.get('capacityStaleAfterS'))]);
  state.pack = packs.sort((a, b) => b.savedAt - a.savedAt)[0] || null;
  state.capacityStaleAfterS = staleAfterS ?? null;
  return state.pack;
}

// When a count stops being news, as the server said last (a sync page, a pack snapshot): the
// phone judges its saved counts by it offline (capacity.js).
async function keepStaleAfter(stores, seconds) {
  if (!Number.isFinite(seconds) || seconds <= 0) return;
  await done(stores.meta.put(seconds, 'capacityStaleAfterS'));
  state.capacityStaleAfterS = seconds;
}

function zoomsFor(zoom) {
  const z = Math.max(0, Math.min(PACK_MAX_ZOOM, Math.floor(zoom)));
  return { min_zoom: Math.max(0, z - 4), max_zoom: Math.min(PACK_MAX_ZOOM, Math.max(z + 2, 14)) };
}

async function download(url) {
  const response = await request(url);
  return response.blob();
}

async function sha256Hex(blob) {
  if (!globalThis.crypto?.subtle) return null; // insecure context: no digest; sizes still checked
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function verified(blob, expected, what) {
  if (blob.size !== expected.bytes) throw new Error(`${what}: ${blob.size} bytes instead of ${expected.bytes}`);
  const digest = await sha256Hex(blob);
  if (digest && digest !== expected.sha256) throw new Error(`${what}: checksum mismatch`);
  return blob;
}

function siteKey(site) {
  return `${site.service_id}:${site.location_id}`;
}

// A square around `origin` reaching `radiusM` each way, as [west, south, east, north].
export function bboxAround(origin, radiusM) {
  const dLat = radiusM / METRES_PER_DEGREE;
  const dLon = radiusM / (METRES_PER_DEGREE * Math.cos((origin.lat * Math.PI) / 180));
  return [origin.lon - dLon, origin.lat - dLat, origin.lon + dLon, origin.lat + dLat].map((v) => Number(v.toFixed(5)));
}

// The zoom at which a square of this size fills a phone's screen: the pack's detail.
function zoomForRadius(radiusM, latDeg) {
  const metresPerPixelAtZ0 = 156_543 * Math.cos((latDeg * Math.PI) / 180);
  return Math.log2((metresPerPixelAtZ0 * 360) / (2 * radiusM));
}

// The area to save so that it holds at least AREA_MIN_PER_CATEGORY of each category: the
// API's own nearest answer per category tells how far the n-th placed site is.
// Returns {bbox, zoom, radiusM, reach: {code: sites found within AREA_MAX_RADIUS_M}}.
export async function planContentArea(origin, categories) {
  let radiusM = AREA_MIN_RADIUS_M;
  const reach = {};
  for (const code of categories) {
    const params = new URLSearchParams({
      lat: origin.lat.toFixed(5), lon: origin.lon.toFixed(5), category: code,
      limit: String(AREA_MIN_PER_CATEGORY), max_distance_m: String(AREA_MAX_RADIUS_M),
    });
    const { results } = await api(`/v1/services/nearest?${params}`);
    const placed = results.filter((r) => r.lat != null && !r.distance_is_approximate);
    reach[code] = placed.length;
    if (placed.length) radiusM = Math.max(radiusM, placed[placed.length - 1].distance_m);
  }
  // A little beyond the farthest one: distances are to the site, the box is a square.
  radiusM = Math.min(AREA_MAX_RADIUS_M, Math.ceil(radiusM * 1.1));
  return { bbox: bboxAround(origin, radiusM), zoom: zoomForRadius(radiusM, origin.lat), radiusM, reach };
}

// What the saved area holds: sites per category group, from the phone's copy.
export async function areaContents() {
  const sites = await transaction(['sites'], 'readonly', (s) => done(s.sites.getAll()));
  const counts = {};
  for (const site of sites) for (const code of site.category_groups || []) counts[code] = (counts[code] || 0) + 1;
  return { total: sites.length, counts };
}

// POST /v1/offline/packs, waiting in line when the server's builds are all busy (503
// pack-builds-busy with Retry-After: other workers are saving their areas too).
async function buildPack(request, progress, tries = BUILD_TRIES) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await api('/v1/offline/packs', { method: 'POST', body: request });
    } catch (error) {
      const busy = error instanceof ApiError && error.status === 503 && error.problem?.type?.endsWith('/pack-builds-busy');
      if (!busy || attempt >= tries) throw error;
      progress('queued');
      await sleep(Math.min(error.retryAfterS || 2, MAX_BUILD_WAIT_S) * 1000);
    }
  }
}

// Build (or reuse) the pack of the visible area and keep it, with its services, on the phone.
export async function saveArea({ bbox, zoom, plan = null }, progress = () => {}) {
  progress('build');
  let zooms = zoomsFor(zoom);
  let manifest;
  try {
    manifest = await buildPack({ bbox, ...zooms }, progress);
  } catch (error) {
    const suggested = error instanceof ApiError && error.problem?.type?.endsWith('/pack-too-large') ? error.problem.suggested_max_zoom : null;
    if (suggested == null || suggested < zooms.min_zoom) throw error;
    zooms = { ...zooms, max_zoom: suggested };
    manifest = await buildPack({ bbox, ...zooms }, progress);
  }
  progress('map');
  const archive = await verified(await download(manifest.urls.archive), manifest, 'map archive');
  let basemap = null;
  if (manifest.basemap && manifest.urls.basemap) {
    progress('basemap');
    basemap = await verified(await download(manifest.urls.basemap), manifest.basemap, 'basemap archive');
  }
  progress('services');
  const snapshot = await api(manifest.urls.services);
  // `plan`: how the area was chosen ({kind: 'content', categories, radiusM} or {kind: 'view'}).
  const pack = { id: manifest.id, manifest, archive, basemap, plan, savedAt: Date.now(), syncedAt: Date.now() };
  await transaction(['packs', 'sites', 'meta'], 'readwrite', async (s) => {
    await done(s.packs.clear());
    await done(s.sites.clear());
    for (const site of snapshot.services) await done(s.sites.put({ ...site, key: siteKey(site) }));
    await done(s.packs.put(pack));
    // The pack holds data_version N; the first sync pages through once to get a delta cursor.
    await done(s.meta.put(null, 'syncCursor'));
    await done(s.meta.put(snapshot.data_version, 'dataVersion'));
    await keepStaleAfter(s, snapshot.capacity_stale_after_s);
  });
  state.pack = pack;
  emit('pack', pack);
  try {
    await persistStorage();
  } catch {
    /* best effort */
  }
  progress('sync');
  try {
    await syncServices();
  } catch (error) {
    console.warn('first sync failed; it runs again when the network returns', error);
  }
  return pack;
}

async function persistStorage() {
  if (navigator.storage?.persist && !(await navigator.storage.persisted())) await navigator.storage.persist();
}

export async function deleteArea() {
  await transaction(['packs', 'sites', 'meta'], 'readwrite', async (s) => {
    await done(s.packs.clear());
    await done(s.sites.clear());
    await done(s.meta.put(null, 'syncCursor'));
  });
  state.pack = null;
  emit('pack', null);
}

// --- delta sync ------------------------------------------------------------------------------

let syncing = null;

export function syncServices() {
  if (!syncing) syncing = runSync().finally(() => { syncing = null; });
  return syncing;
}

async function runSync() {
  if (!state.pack) return { pages: 0 };
  const area = state.pack.manifest.bbox;
  let cursor = await getMeta('syncCursor');
  let pages = 0;
  let restarted = false;
  for (;;) {
    let page;
    try {
      page = await api(`/v1/sync/services${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 410 || error.status === 400) && !restarted) {
        // Too old (or not ours): start over from a full pass, as the server advises.
        cursor = null;
        restarted = true;
        continue;
      }
      throw error;
    }
    const changed = await applyPage(page, area);
    pages += 1;
    cursor = page.next_cursor;
    if (changed) emit('sites-changed');
    if (!page.has_more) break;
  }
  state.pack = { ...state.pack, syncedAt: Date.now() };
  await transaction(['packs'], 'readwrite', (s) => done(s.packs.put(state.pack)));
  emit('synced', { pages });
  return { pages };
}

// Apply one page in one transaction with its cursor: a page is either all applied or not.
async function applyPage(page, area) {
  return transaction(['sites', 'meta'], 'readwrite', async (s) => {
    let changed = 0;
    const index = s.sites.index('service_id');
    const removeService = async (id) => {
      const keys = await done(index.getAllKeys(id));
      for (const key of keys) await done(s.sites.delete(key));
      return keys.length;
    };
    for (const service of page.services) {
      const had = await removeService(service.id);
      for (const site of service.sites) {
        // Public sites in the area; confidential sites (no position) of services known here.
        // The whole summary is kept, `serves_area` with it (the list's "serves this address").
        const keep = site.lat != null && site.lon != null ? inBbox(site.lon, site.lat, area) : had > 0;
        if (keep) {
          await done(s.sites.put({ ...site, key: siteKey(site) }));
          changed += 1;
        }
      }
      changed += had;
    }
    for (const tombstone of page.tombstones) changed += await removeService(tombstone.id);
    await done(s.meta.put(page.next_cursor, 'syncCursor'));
    await done(s.meta.put(page.data_version, 'dataVersion'));
    await keepStaleAfter(s, page.capacity_stale_after_s);
    return changed;
  });
}

// --- the nearest list without a network -------------------------------------------------------

// The gender groups (service/directory/populations.py GENDER_CODES).
const GENDER_GROUPS = ['women', 'men', 'gender_diverse'];

// Who the site is for, as the API's population= and gender= read it: a site for one of the
// groups or restricting nobody (`population_restricted` false: sites saved before the server
// knew groups have neither field, and restrict nobody); a site with no gender group or one
// with that gender.
export function matchesWho(site, population, genderGroup) {
  const groups = site.populations || [];
  if (population.length && site.population_restricted && !population.some((code) => groups.includes(code))) return false;
  if (genderGroup && groups.some((code) => GENDER_GROUPS.includes(code)) && !groups.includes(genderGroup)) return false;
  return true;
}

// Is (lon, lat) inside a GeoJSON MultiPolygon's coordinates? Even-odd ray casting: a ray from the point eastwards
// crosses the rings' edges an odd number of times when it is inside; a hole's ring adds its
// own crossings, so a point in a hole comes out outside. Plain lon/lat is enough: the areas
// are a few km to a province, simplified to ~200 m by the server. (Twenty lines, not a
// geometry library: the phone needs this one question, and a dependency would weigh more
// than the whole list.)
export function inMultiPolygon(lon, lat, multiPolygon) {
  for (const polygon of multiPolygon) {
    let inside = false;
    for (const ring of polygon) {
      // Each edge (j, i), the last point back to the first included: on a closed ring (as
      // the server sends them) that one has no length and crosses nothing.
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [x1, y1] = ring[j];
        const [x2, y2] = ring[i];
        if ((y1 > lat) !== (y2 > lat) && lon < x1 + ((lat - y1) * (x2 - x1)) / (y2 - y1)) inside = !inside;
      }
    }
    if (inside) return true;
  }
  return false;
}

// The API's `serves_location` for a saved site and the point the list is for: yes (its area
// holds the point), no, or unknown (no known area: `serves_area` null, or a site saved
// before the server sent areas).
export function servesLocation(site, origin) {
  const area = site.serves_area;
  if (!Array.isArray(area) || !area.length || !origin) return 'unknown';
  return inMultiPolygon(origin.lon, origin.lat, area) ? 'yes' : 'no';
}

// The filter chips, applied to a site of the snapshot as the API applies them (a stale count
// is not a free bed: `has_capacity`'s rule; serves=here keeps "yes" and "unknown").
function matchesFilters(site, filters, hours, now) {
  if (filters.servesHere && site.serves_location === 'no') return false;
  if (filters.openNow && hours.state !== 'open') return false;
  if (filters.bedsFree && !hasFreeCapacity(site, now.getTime())) return false;
  if (filters.age != null) {
    const min = site.eligibility?.minimum_age, max = site.eligibility?.maximum_age;
    if ((min != null && filters.age < min) || (max != null && filters.age > max)) return false;
  }
  if (!matchesWho(site, populationValues(filters), GENDER_GROUP[filters.gender] || null)) return false;
  return true;
}

export async function localNearest(origin, category, limit = 10, filters = {}, now = new Date()) {
  const sites = await transaction(['sites'], 'readonly', (s) => done(s.sites.getAll()));
  const matching = sites
    .filter((site) => !category || (site.category_groups || []).includes(category))
    .map((site) => ({
      ...withFreshness(site, now.getTime()),
      hours: hoursAt(site.week_intervals, site.timezone || 'America/Toronto', now, site.open_ranges),
      serves_location: servesLocation(site, origin),
    }))
    .filter((site) => matchesFilters(site, filters, site.hours, now));
  const placed = matching
    .filter((site) => site.lat != null && site.lon != null)
    .map((site) => ({ site, distance: haversineM(origin.lat, origin.lon, site.lat, site.lon) }))
    .sort((a, b) => a.distance - b.distance)
    .slice(0, limit)
    .map(({ site, distance }) => ({ ...site, distance_m: Math.round(distance), distance_is_approximate: false }));
  // Confidential sites have no position on the phone: listed after, as "call to connect".
  const confidential = matching.filter((site) => site.confidential).slice(0, 3);
  return [...placed, ...confidential.map((site) => ({ ...site, distance_m: null, distance_is_approximate: true }))];
}

// A site of the saved area: by its ids, or (a map point below the labels zoom carries no
// location id) the service's site nearest to where the point was tapped.
// A saved site by its site key (what a tapped tile point carries).
export async function localSite(siteKey) {
  if (siteKey == null) return null;
  const site = await transaction(['sites'], 'readonly', (s) => done(s.sites.index('site_key').get(siteKey)));
  return site ? withFreshness(site) : null;
}

export async function localSiteCount() {
  return transaction(['sites'], 'readonly', (s) => done(s.sites.count()));
}

