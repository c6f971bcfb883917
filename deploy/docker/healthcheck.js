#!/usr/bin/env node
// The image's HEALTHCHECK: GET /healthz of the service in this container; exit 0 when it
// answers 2xx within the timeout, 1 otherwise (with the reason on stderr, shown by
// `docker inspect` / `podman healthcheck run`). Only Node's built-ins: the image has no curl.
//
// Where /healthz is served, as the services' config reads it (environment over TT_CONFIG_FILE):
//   every service  its metrics port: TT_METRICS_HOST (else TT_GRPC_HOST, else 127.0.0.1) : TT_METRICS_PORT
//   login          without a metrics port, its HTTP port: TT_HTTP_HOST (0.0.0.0) : TT_HTTP_PORT (8080),
//                  HTTPS when TT_CLIENT_TLS_CERT is set (its own loopback: the certificate is not checked)
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');

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
  const metricsPort = get('TT_METRICS_PORT');
  const hasMetricsPort = metricsPort !== undefined && metricsPort !== '0';
  if (service === 'login' && !hasMetricsPort) {
    const scheme = get('TT_CLIENT_TLS_CERT') === undefined ? 'http' : 'https';
    return { url: `${scheme}://${probeHost(get('TT_HTTP_HOST'))}:${get('TT_HTTP_PORT') ?? '8080'}/healthz` };
  }
  if (!hasMetricsPort) {
    return { error: `TT_METRICS_PORT is ${metricsPort === undefined ? 'not set' : '0 (a random port)'}: ${service ?? 'this service'} serves /healthz on its metrics port; set a fixed one` };
  }
  return { url: `http://${probeHost(get('TT_METRICS_HOST') ?? get('TT_GRPC_HOST'))}:${metricsPort}/healthz` };
}

function get(url) {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https : http;
    const req = client.get(url, { timeout: TIMEOUT_MS, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', (err) => reject(new Error(`${url}: ${err.message}`)));
  });
}

async function main() {
  const t = target(settings());
  if (t.error) throw new Error(t.error);
  const res = await get(t.url);
  if (res.status < 200 || res.status > 299) throw new Error(`${t.url} answered ${res.status}: ${res.body.slice(0, 200)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`healthcheck: ${err.message}\n`);
    process.exit(1);
  },
);
