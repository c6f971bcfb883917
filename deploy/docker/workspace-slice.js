#!/usr/bin/env node
// The part of the repository one service's image is built from, and the part it ships.
// The Dockerfile runs it, so it needs nothing but Node's built-ins:
//
//   node deploy/docker/workspace-slice.js list <service> [root]            workspaces the service needs, as JSON
//   node deploy/docker/workspace-slice.js build <service> <root> <out>     what `npm ci` + `tsc -b` need: the lockfile,
//        every needed workspace's sources (tests left out), the .proto files; no other service, no test suite
//   node deploy/docker/workspace-slice.js manifests <service> <root> <out> package.json files and the lockfile only
//        (`npm ci --omit=dev` of the production stage)
//   node deploy/docker/workspace-slice.js runtime <service> <root> <out>   what the image ships: each needed workspace's
//        package.json and its package.json `files` (default: dist/), without tests or build info, plus `main.js`,
//        a link to the service's entry point
//
// "Needed" is the service's workspace and, transitively, every workspace named in its `dependencies`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

// Root files the build reads besides the workspaces.
const BUILD_ROOT_FILES = ['package.json', 'package-lock.json', 'tsconfig.base.json'];
const BUILD_ROOT_DIRS = ['proto'];
// Never copied: installed or generated trees, and tests (beside the code or in a test/ folder).
const SKIP_DIRS = new Set(['node_modules', 'dist', 'test', 'coverage']);
const isTestFile = (name) => /\.test\.[cm]?[jt]s$/.test(name) || /\.test\.d\.[cm]?ts$/.test(name) || /\.test\.[cm]?js\.map$/.test(name);
const isBuildInfo = (name) => name.endsWith('.tsbuildinfo');

class SliceError extends Error {}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SliceError(`cannot read ${file}: ${err.message}`);
  }
}

/** Workspace package name -> its folder (relative to root), from the root package.json. */
function workspaces(root) {
  const rootPkg = readJson(path.join(root, 'package.json'));
  const byName = new Map();
  for (const dir of rootPkg.workspaces ?? []) {
    const manifest = path.join(root, dir, 'package.json');
    if (!fs.existsSync(manifest)) continue; // a workspace left out of this build context
    byName.set(readJson(manifest).name, dir);
  }
  return byName;
}

/** The service's workspace first, then every workspace it depends on (transitively), sorted. */
function closure(root, service) {
  if (!/^[a-z][a-z0-9-]*$/.test(service)) throw new SliceError(`"${service}" is not a service name (services/<name>)`);
  const byName = workspaces(root);
  const start = `services/${service}`;
  if (![...byName.values()].includes(start)) {
    const known = [...byName.values()].filter((d) => d.startsWith('services/')).map((d) => d.slice('services/'.length));
    throw new SliceError(`${start} is not a workspace of ${path.resolve(root)}: expected one of ${known.join(', ')}`);
  }
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length > 0) {
    const dir = queue.shift();
    const deps = readJson(path.join(root, dir, 'package.json')).dependencies ?? {};
    for (const name of Object.keys(deps)) {
      const dep = byName.get(name);
      if (dep !== undefined && !seen.has(dep)) {
        seen.add(dep);
        queue.push(dep);
      }
    }
  }
  return [start, ...[...seen].filter((d) => d !== start).sort()];
}

/** Copies a file or a tree, leaving out what `skip(name, isDir)` refuses. */
function copy(from, to, skip) {
  const stat = fs.statSync(from);
  if (stat.isDirectory()) {
    fs.mkdirSync(to, { recursive: true });
    for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
      if (skip(entry.name, entry.isDirectory())) continue;
      copy(path.join(from, entry.name), path.join(to, entry.name), skip);
    }
  } else {
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(from, to);
  }
}

const skipForBuild = (name, isDir) => (isDir ? SKIP_DIRS.has(name) : isTestFile(name) || isBuildInfo(name));
const skipForRuntime = (name, isDir) => (isDir ? name === 'test' || name === 'node_modules' : isTestFile(name) || isBuildInfo(name));

function sliceBuild(root, service, out) {
  for (const f of BUILD_ROOT_FILES) copy(path.join(root, f), path.join(out, f), skipForBuild);
  for (const d of BUILD_ROOT_DIRS) copy(path.join(root, d), path.join(out, d), skipForBuild);
  for (const dir of closure(root, service)) copy(path.join(root, dir), path.join(out, dir), skipForBuild);
  // The build stage slices its own output with this script.
  copy(__filename, path.join(out, 'deploy/docker', path.basename(__filename)), () => false);
}

function sliceManifests(root, service, out) {
  for (const f of ['package.json', 'package-lock.json']) copy(path.join(root, f), path.join(out, f), () => false);
  for (const dir of closure(root, service)) copy(path.join(root, dir, 'package.json'), path.join(out, dir, 'package.json'), () => false);
}

function sliceRuntime(root, service, out) {
  sliceManifests(root, service, out);
  for (const dir of closure(root, service)) {
    const files = readJson(path.join(root, dir, 'package.json')).files ?? ['dist'];
    for (const entry of files) {
      const from = path.join(root, dir, entry);
      if (!fs.existsSync(from)) throw new SliceError(`${dir}/${entry} is missing: build the workspace first`);
      copy(from, path.join(out, dir, entry), skipForRuntime);
    }
  }
  const main = `services/${service}/dist/main.js`;
  if (!fs.existsSync(path.join(out, main))) throw new SliceError(`${main} is missing after the copy`);
  fs.symlinkSync(main, path.join(out, 'main.js'));
}

const COMMANDS = {
  list: (root, service) => process.stdout.write(`${JSON.stringify(closure(root, service))}\n`),
  build: sliceBuild,
  manifests: sliceManifests,
  runtime: sliceRuntime,
};

function main(argv) {
  const [command, service, root = '.', out] = argv;
  const run = COMMANDS[command];
  if (run === undefined || service === undefined || (command !== 'list' && out === undefined)) {
    throw new SliceError('usage: workspace-slice.js list <service> [root] | (build|manifests|runtime) <service> <root> <out>');
  }
  if (out !== undefined && fs.existsSync(out) && fs.readdirSync(out).length > 0) throw new SliceError(`${out} is not empty`);
  run(root, service, out);
}

try {
  main(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof SliceError)) throw err;
  process.stderr.write(`workspace-slice: ${err.message}\n`);
  process.exit(2);
}
