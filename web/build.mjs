// Builds the web client into dist/: one ES module bundle (esbuild, browser
// platform: the SDK's and proto's "browser" entries, no Node modules), the page and its stylesheet.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
await build({
  entryPoints: [path.join(here, 'src/main.ts')],
  outfile: path.join(dist, 'app.js'),
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: ['chrome109', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: true,
  legalComments: 'eof',
  logLevel: 'warning',
});
for (const file of ['index.html', 'app.css']) copyFileSync(path.join(here, 'static', file), path.join(dist, file));
