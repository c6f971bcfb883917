#!/usr/bin/env node
// Writes the settings tables of docs/OPERATIONS.md (between its settings
// markers) from the built config schemas. `npm run docs:settings` builds
// first; `--check` only reports whether the committed tables are current.
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const ROOT = path.resolve(__dirname, '..');
const DOC = path.join(ROOT, 'docs/OPERATIONS.md');

function main() {
  const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
  const table = require(path.join(ROOT, 'libs/config/dist/settings-table.js'));
  const sources = JSON.parse(readFileSync(path.join(ROOT, 'scripts/settings-sources.json'), 'utf8'));
  const meanings = JSON.parse(readFileSync(path.join(ROOT, 'docs/settings-meanings.json'), 'utf8'));
  const sections = sources.map((s) => ({
    name: s.name,
    title: s.title,
    // The built module of the schema source: <pkg>/src/x.ts -> <pkg>/dist/x.js.
    schema: require(path.join(ROOT, s.source.replace('/src/', '/dist/').replace(/\.ts$/, '.js')))[s.export],
    sourceText: readFileSync(path.join(ROOT, s.source), 'utf8'),
    sourcePath: s.source,
  }));
  const [common, ...services] = sections;
  const body = table.renderSettingsTables(common, services, meanings);
  const doc = readFileSync(DOC, 'utf8');
  const next = table.replaceBetweenMarkers(doc, table.SETTINGS_BEGIN, table.SETTINGS_END, body);
  if (values.check) {
    if (next !== doc) {
      process.stderr.write('docs/OPERATIONS.md settings tables are out of date: run `npm run docs:settings`\n');
      return 1;
    }
    return 0;
  }
  if (next !== doc) writeFileSync(DOC, next);
  process.stdout.write(`docs/OPERATIONS.md settings tables ${next === doc ? 'already current' : 'written'}\n`);
  return 0;
}

try {
  process.exitCode = main();
} catch (err) {
  process.stderr.write(`gen-settings-doc: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
}
