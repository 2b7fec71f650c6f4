// The phone's own storage (IndexedDB): what the app needs without a network.
//
//   meta      key -> value: the token, the sync cursor, the categories, the last origin
//   sites     one service site of the saved area (a /v1/services/nearest result without the
//             distance, plus week_intervals), key "service_id:location_id", indexes service_id
//             and site_key (a tapped map point's feature id; version 2)
//   packs     the saved offline area: manifest + PMTiles archive (Blob) + basemap (Blob|null)
//   outbox    handoffs tapped but not yet accepted by the server, key = their Idempotency-Key
//   handoffs  handoffs the server accepted, as last seen (status, centre, callback window)
//   reports   field reports of wrong data tapped but not yet accepted by the server (the
//             reports' outbox, outbox.js), key = their Idempotency-Key (version 3)
//   shares    SMS and email shares of chosen services tapped but not yet accepted by the
//             server (the shares' outbox, share.js), key = their Idempotency-Key; the
//             recipient lives here only, and leaves with the item (version 4)
//
// Each version adds to the one before: a phone that skipped versions runs every step it
// missed, in order, in the one upgrade transaction.

const NAME = 'fieldnav';
const VERSION = 4;

let opening = null;

export function openDb() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(NAME, VERSION);
      request.onupgradeneeded = (event) => {
        const db = request.result;
        if (event.oldVersion < 1) {
          db.createObjectStore('meta');
          const sites = db.createObjectStore('sites', { keyPath: 'key' });
          sites.createIndex('service_id', 'service_id');
          db.createObjectStore('packs', { keyPath: 'id' });
          db.createObjectStore('outbox', { keyPath: 'key' });
          db.createObjectStore('handoffs', { keyPath: 'id' });
        }
        if (event.oldVersion < 2) request.transaction.objectStore('sites').createIndex('site_key', 'site_key');
        if (event.oldVersion < 3) db.createObjectStore('reports', { keyPath: 'key' });
        if (event.oldVersion < 4) db.createObjectStore('shares', { keyPath: 'key' });
      };
      request.onsuccess = () => {
        const db = request.result;
        // A newer build opened in another tab needs this connection closed to upgrade: close
        // it, and open again (at the newer version) on the next use.
        db.onversionchange = () => {
          db.close();
          opening = null;
        };
        resolve(db);
      };
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error('storage is blocked by another tab of the app'));
    });
  }
  return opening;
}

export function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function finished(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
    tx.onerror = () => reject(tx.error);
  });
}

// Run `work(stores)` in one transaction; resolves with work's result once committed.
// `work` may await requests of this transaction only (never a fetch or a timer).
export async function transaction(names, mode, work) {
  const db = await openDb();
  const tx = db.transaction(names, mode);
  const stores = Object.fromEntries(names.map((name) => [name, tx.objectStore(name)]));
  const result = await work(stores, tx);
  await finished(tx);
  return result;
}

export const get = (store, key) => transaction([store], 'readonly', (s) => done(s[store].get(key)));
export const all = (store) => transaction([store], 'readonly', (s) => done(s[store].getAll()));
export const count = (store) => transaction([store], 'readonly', (s) => done(s[store].count()));
export const put = (store, value, key) =>
  transaction([store], 'readwrite', (s) => done(key === undefined ? s[store].put(value) : s[store].put(value, key)));
export const del = (store, key) => transaction([store], 'readwrite', (s) => done(s[store].delete(key)));

export const getMeta = (key) => get('meta', key);
export const setMeta = (key, value) => put('meta', value, key);
