// A service-like process stopped by exitOnSignals (signals.test.ts). argv: mode, exit deadline ms.
// mode "clean": every step ends; "hang": a drain never ends; "fail": a close step throws.
const http = require('node:http');
const { createLogger } = require('@tiertalk/log');
const { ServiceLifecycle, exitOnSignals, listen, gracefulClose } = require('../dist');

const [mode, deadline] = process.argv.slice(2);
const log = createLogger({ service: 'fixture', instanceId: 'f', level: 'info' });
const life = new ServiceLifecycle({ log, readiness: { drain: () => undefined } });
const server = http.createServer((_req, res) => res.end('ok'));
listen(server, 0, '127.0.0.1', 'fixture server').then(() => {
  life.closes('http server', () => gracefulClose(server)(1000));
  if (mode === 'fail') life.closes('broken part', () => Promise.reject(new Error('boom')));
  if (mode === 'hang') {
    life.drains('hanging drain', 60_000, () => {
      log.info('drain started');
      return new Promise(() => undefined);
    });
  }
  exitOnSignals((reason) => life.stop(reason), { log, exitDeadlineMs: Number(deadline) });
  log.info('fixture ready');
});
