// What the app knows right now, and a tiny event bus between its parts.

export const state = {
  token: null,
  authLost: false, // the server refused the token and it could not be renewed: sign in again to go online
  me: null, // {subject, agency, role, issuer} from /v1/me
  online: navigator.onLine,
  categories: [], // [{code, label_en, label_fr, service_count}]
  category: null, // the selected category code, or null for all
  // who and what the list and map must match; gender: 'woman' | 'man' | 'gender_diverse' | null,
  // population: group codes (chips.js POPULATIONS); servesHere: only the services whose area
  // holds the origin, and those with no known area (serves=here)
  filters: { openNow: false, bedsFree: false, age: null, gender: null, population: [], servesHere: false },
  origin: null, // {lat, lon, source: 'device' | 'place' | 'map', name}
  pack: null, // the saved offline area: {id, manifest, archive: Blob, basemap: Blob | null, savedAt, syncedAt}
  basemap: null, // the server's basemap TileJSON, or null when it has none
  results: [], // the nearest list as shown
  view: 'nearby',
  // When a count stops being news (seconds), as the last sync page or pack snapshot said;
  // null: the default, 12 h (capacity.js).
  capacityStaleAfterS: null,
};

// Which app the signed-in role gets: a provider's staff update their own services' counts
// (provider.js); everyone else gets the field worker's map, list and outbox.
export function roleMode(role) {
  return role === 'provider' ? 'provider' : 'field';
}

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

// Ask the server, or answer from the phone? Offline, or signed out (an expired token that
// could not be renewed), the phone answers.
export function serverUsable() {
  return state.online && !state.authLost;
}

// Offline for the app: the browser says so. (A failed request while the browser says
// online is handled where it happens: the list falls back to the phone's data.)
export function setOnline(online) {
  if (state.online === online) return;
  state.online = online;
  emit('network', online);
}
