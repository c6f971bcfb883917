// Generates static protobufjs code and its TypeScript declarations for every
// .proto under /proto into src/gen (used by ts-jest) and dist/gen (used at run time).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const pkg = path.resolve(__dirname, '..');
const protoDir = path.resolve(pkg, '../../proto');
const bin = (name) => path.join(pkg, 'node_modules/.bin', name);
const pbjs = fs.existsSync(bin('pbjs')) ? bin('pbjs') : path.resolve(pkg, '../../node_modules/.bin/pbjs');
const pbts = fs.existsSync(bin('pbts')) ? bin('pbts') : path.resolve(pkg, '../../node_modules/.bin/pbts');

const files = [
  ...fs.readdirSync(protoDir).filter((f) => f.endsWith('.proto')).map((f) => path.join(protoDir, f)),
  ...fs.readdirSync(path.join(protoDir, 'internal')).filter((f) => f.endsWith('.proto')).map((f) => path.join(protoDir, 'internal', f)),
].sort();

const srcGen = path.join(pkg, 'src/gen');
fs.mkdirSync(srcGen, { recursive: true });
const js = path.join(srcGen, 'pb.js');
const common = ['-t', 'static-module', '-w', 'commonjs', '--no-verify', '--no-delimited', '--force-number', '-p', protoDir];
// pbts reads the declarations from jsdoc, so it gets a commented copy; the run-time file has none.
const documented = path.join(srcGen, 'pb.documented.js');
execFileSync(pbjs, [...common, '-o', documented, ...files], { stdio: 'inherit' });
execFileSync(pbts, ['--no-comments', '-o', path.join(srcGen, 'pb.d.ts'), documented], { stdio: 'inherit' });
fs.rmSync(documented);
execFileSync(pbjs, [...common, '--no-comments', '-o', js, ...files], { stdio: 'inherit' });

const distGen = path.join(pkg, 'dist/gen');
fs.mkdirSync(distGen, { recursive: true });
for (const f of ['pb.js', 'pb.d.ts']) fs.copyFileSync(path.join(srcGen, f), path.join(distGen, f));
process.stdout.write(`generated ${files.length} proto files into src/gen and dist/gen\n`);
