// What the app knows right now, and a tiny event bus between its parts.

export const state = {
  token: null,
  me: null, // {subject, agency, role, issuer} from /v1/me
  online: navigator.onLine,
  categories: [], // [{code, label_en, label_fr, service_count}]
  category: null, // the selected category code, or null for all
  origin: null, // {lat, lon, source: 'device' | 'place' | 'map', name}
  pack: null, // the saved offline area: {id, manifest, archive: Blob, basemap: Blob | null, savedAt, syncedAt}
  basemap: null, // the server's basemap TileJSON, or null when it has none
  results: [], // the nearest list as shown
  view: 'nearby',
};

const listeners = new Map();

export function on(event, fn) {
  if (!listeners.has(event)) listeners.set(event, []);
  listeners.get(event).push(fn);
}

export function emit(event, detail) {
  for (const fn of listeners.get(event) || []) {
    try {
      fn(detail);
    } catch (error) {
      console.error(`${event} listener failed`, error);
    }
  }
}

// Offline for the app: the browser says so. (A failed request while the browser says
// online is handled where it happens: the list falls back to the phone's data.)
export function setOnline(online) {
  if (state.online === online) return;
  state.online = online;
  emit('network', online);
}
