// esbuild options of the page's bundle; build.mjs builds with them and
// src/bundle.test.ts checks what they pull in.
'use strict';
const path = require('node:path');

module.exports = {
  entryPoints: [path.join(__dirname, 'src/main.ts')],
  bundle: true,
  // The SDK's and proto's package.json "browser" entries; a Node built-in reaching the bundle fails the build.
  platform: 'browser',
  format: 'esm',
  target: ['chrome109', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: true,
  legalComments: 'eof',
  logLevel: 'warning',
};
