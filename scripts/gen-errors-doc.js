#!/usr/bin/env node
// Writes the error table of docs/ERRORS.md (between its errors markers) from
// the built catalogue (libs/rpc). `npm run docs:errors` builds first;
// `--check` only reports whether the committed table is current.
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const ROOT = path.resolve(__dirname, '..');
const DOC = path.join(ROOT, 'docs/ERRORS.md');

function main() {
  const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
  const { replaceBetweenMarkers } = require(path.join(ROOT, 'libs/config/dist/settings-table.js'));
  const { renderErrorTable, ERRORS_BEGIN, ERRORS_END } = require(path.join(ROOT, 'libs/rpc/dist/error-doc.js'));
  const doc = readFileSync(DOC, 'utf8');
  const next = replaceBetweenMarkers(doc, ERRORS_BEGIN, ERRORS_END, renderErrorTable());
  if (values.check) {
    if (next !== doc) {
      process.stderr.write('docs/ERRORS.md is out of date: run `npm run docs:errors`\n');
      return 1;
    }
    return 0;
  }
  if (next !== doc) writeFileSync(DOC, next);
  process.stdout.write(`docs/ERRORS.md ${next === doc ? 'already current' : 'written'}\n`);
  return 0;
}

try {
  process.exitCode = main();
} catch (err) {
  process.stderr.write(`gen-errors-doc: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
}
