// Builds the web client into dist/: one ES module bundle (esbuild, options in
// bundle.config.cjs), the page and its stylesheet.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import options from './bundle.config.cjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
await build({ ...options, outfile: path.join(dist, 'app.js') });
for (const file of ['index.html', 'app.css']) copyFileSync(path.join(here, 'static', file), path.join(dist, file));
