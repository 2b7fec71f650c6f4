// Builds the field client into web/dist, served by fieldnav at /app/
// (service/api/routes/app_static.py). One extra step: the service worker (src/sw.js) is
// written into dist with the list of files to keep for offline use and a build version.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vite';

const BASE = '/app/';
// Files of public/ the app needs offline (copied as they are by vite).
const PUBLIC_FILES = ['manifest.webmanifest', 'icons/icon.svg', 'icons/icon-192.png', 'icons/icon-512.png'];

function serviceWorker() {
  return {
    name: 'fieldnav-service-worker',
    apply: 'build',
    enforce: 'post',
    writeBundle(options, bundle) {
      const built = Object.keys(bundle).filter((f) => !f.endsWith('.map') && f !== 'index.html').sort();
      const hash = createHash('sha256');
      for (const file of built) hash.update(file);
      hash.update(readFileSync(join(options.dir, 'index.html')));
      for (const file of PUBLIC_FILES) hash.update(readFileSync(join('public', file)));
      const precache = [BASE, ...built.map((f) => BASE + f), ...PUBLIC_FILES.map((f) => BASE + f)];
      const source = readFileSync('src/sw.js', 'utf8')
        .replace("'__BUILD_VERSION__'", JSON.stringify(hash.digest('hex').slice(0, 16)))
        .replace("'__PRECACHE__'", JSON.stringify(precache));
      writeFileSync(join(options.dir, 'sw.js'), source);
    },
  };
}

export default defineConfig({
  base: BASE,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // MapLibre is one large module; splitting it buys nothing for a PWA that caches it once.
    chunkSizeWarningLimit: 2000,
  },
  plugins: [serviceWorker()],
});
