// What the doc generators (gen-settings-doc.js, gen-errors-doc.js) share:
// `--check` reports whether the committed doc is current, otherwise the doc
// is written; `render(doc)` returns the doc as it should be.
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const ROOT = path.resolve(__dirname, '..');

/** Runs one generator as a script: sets the exit code (0 current/written, 1 stale, 2 failed). */
function runDocGenerator({ name, doc, what, command, render }) {
  try {
    const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
    const file = path.join(ROOT, doc);
    const current = readFileSync(file, 'utf8');
    const next = render(current);
    if (values.check) {
      if (next !== current) process.stderr.write(`${doc} ${what} out of date: run \`${command}\`\n`);
      process.exitCode = next === current ? 0 : 1;
      return;
    }
    if (next !== current) writeFileSync(file, next);
    process.stdout.write(`${doc} ${what} ${next === current ? 'already current' : 'written'}\n`);
    process.exitCode = 0;
  } catch (err) {
    process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  }
}

module.exports = { ROOT, runDocGenerator };
