#!/usr/bin/env node
// The image's HEALTHCHECK: GET /healthz of the service in this container; exit 0 when it
// answers 2xx within the timeout, 1 otherwise (with the reason on stderr, shown by
// `docker inspect` / `podman healthcheck run`). Only Node's built-ins: the image has no curl.
//
// Where /healthz is served, as the services' config reads it (environment over TT_CONFIG_FILE):
//   login       its HTTP port: TT_HTTP_HOST (0.0.0.0) : TT_HTTP_PORT (8080)
//   the others  the metrics port: TT_METRICS_HOST (else TT_GRPC_HOST, else 127.0.0.1) : TT_METRICS_PORT
'use strict';
const fs = require('node:fs');

const TIMEOUT_MS = 2500;

function settings() {
  let fromFile = {};
  const file = process.env.TT_CONFIG_FILE;
  if (file) {
    try {
      fromFile = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      fromFile = {}; // the service itself reports a bad TT_CONFIG_FILE
    }
  }
  return (key) => {
    const v = process.env[key];
    if (v !== undefined && v !== '') return v;
    const f = fromFile[key];
    return f === undefined || f === null || f === '' ? undefined : String(f);
  };
}

/** A wildcard bind address is probed on loopback. */
function probeHost(host) {
  if (host === undefined || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function target(get) {
  const service = get('TT_SERVICE');
  if (service === 'login') return { host: probeHost(get('TT_HTTP_HOST')), port: get('TT_HTTP_PORT') ?? '8080' };
  const port = get('TT_METRICS_PORT');
  if (port === undefined || port === '0') {
    return { error: `TT_METRICS_PORT is ${port === undefined ? 'not set' : '0 (a random port)'}: ${service ?? 'this service'} serves /healthz on its metrics port; set a fixed one` };
  }
  return { host: probeHost(get('TT_METRICS_HOST') ?? get('TT_GRPC_HOST')), port };
}

async function main() {
  const t = target(settings());
  if (t.error) throw new Error(t.error);
  const url = `http://${t.host}:${t.port}/healthz`;
  const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (res.status < 200 || res.status > 299) throw new Error(`${url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`healthcheck: ${err.cause?.message ?? err.message}\n`);
    process.exit(1);
  },
);
