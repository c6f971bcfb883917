#!/usr/bin/env node
// Writes the error table of docs/ERRORS.md (between its errors markers) from
// the built catalogue (libs/rpc). `npm run docs:errors` builds first;
// `--check` only reports whether the committed table is current.
'use strict';
const path = require('node:path');
const { ROOT, runDocGenerator } = require('./generated-doc');

runDocGenerator({
  name: 'gen-errors-doc',
  doc: 'docs/ERRORS.md',
  what: 'error table',
  command: 'npm run docs:errors',
  render: (doc) => {
    const { replaceBetweenMarkers } = require(path.join(ROOT, 'libs/config/dist/settings-table.js'));
    const { renderErrorTable, ERRORS_BEGIN, ERRORS_END } = require(path.join(ROOT, 'libs/rpc/dist/error-doc.js'));
    return replaceBetweenMarkers(doc, ERRORS_BEGIN, ERRORS_END, renderErrorTable());
  },
});
