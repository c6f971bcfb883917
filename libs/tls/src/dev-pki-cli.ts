#!/usr/bin/env node
// Creates the development PKI `make up` uses: node dev-pki-cli.js <dir> [name ...]
import { createDevPki, DEV_PKI_NAMES } from './dev-pki';

const [dir, ...names] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: tiertalk-dev-pki <dir> [name ...]\n');
  process.exit(2);
}
const pki = createDevPki(dir, names.length > 0 ? names : DEV_PKI_NAMES);
process.stdout.write(`${pki.caCert}\n`);
