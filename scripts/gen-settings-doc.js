#!/usr/bin/env node
// Writes the settings tables of docs/OPERATIONS.md (between its settings
// markers) from the built config schemas. `npm run docs:settings` builds
// first; `--check` only reports whether the committed tables are current.
'use strict';
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { ROOT, runDocGenerator } = require('./generated-doc');

runDocGenerator({
  name: 'gen-settings-doc',
  doc: 'docs/OPERATIONS.md',
  what: 'settings tables',
  command: 'npm run docs:settings',
  render: (doc) => {
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
    return table.replaceBetweenMarkers(doc, table.SETTINGS_BEGIN, table.SETTINGS_END, body);
  },
});
