// The field client's service worker (scope /app/): keeps the app shell so the app starts
// without a network. Written into dist by vite.config.js, which fills in the build version
// and the list of built files. It never touches API requests (/v1/...): the app keeps its
// data itself (IndexedDB) and decides what to do offline.
const VERSION = '__BUILD_VERSION__';
const PRECACHE = '__PRECACHE__';
const CACHE = `fieldnav-app-${VERSION}`;
const SHELL = '/app/';

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(PRECACHE.map((url) => new Request(url, { cache: 'reload' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('fieldnav-app-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin || !url.pathname.startsWith('/app/')) return;
  if (request.mode === 'navigate') {
    // The page: the network's when there is one (a new build shows at once), else the kept one.
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok) caches.open(CACHE).then((cache) => cache.put(SHELL, response.clone()));
          return response;
        })
        .catch(() => caches.match(SHELL)),
    );
    return;
  }
  // Built files have content-hashed names: the kept copy is always right.
  event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
});
