import type tls from 'node:tls';
import type { Logger } from '@tiertalk/log';
import type { RefusalLog } from '@tiertalk/metrics';
import { ServerCertificate } from '@tiertalk/tls';
import type { ClientTlsConfig } from '../config';

/** What a client-facing listener needs to speak TLS (TeamTalk over TLS, wss://). */
export interface ClientTls {
  /** The public-facing certificate; reloads reach every server attached to it. */
  readonly certificate: ServerCertificate;
  /** A handshake not finished by then is dropped, so a half-open TLS connection cannot sit forever. */
  readonly handshakeTimeoutMs: number;
  readonly refusals: RefusalLog;
}

/** Options for tls.createServer / https.createServer. */
export function tlsServerOptions(t: ClientTls): tls.TlsOptions {
  return { ...t.certificate.serverOptions(), handshakeTimeout: t.handshakeTimeoutMs };
}

/**
 * Follows the certificate's reloads, and counts failed handshakes (plaintext
 * on the TLS port, a client that rejects our certificate, a timeout); one log
 * line per address and interval. The socket is destroyed here: with a
 * 'tlsClientError' listener Node leaves a timed-out handshake's socket open.
 */
export function watchClientTls(server: tls.Server, t: ClientTls, what: string, log: Logger): () => void {
  t.certificate.attach(server);
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
    const reason = err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'tls_handshake_timeout' : 'tls_handshake_failed';
    t.refusals.refuse(reason, socket.remoteAddress ?? '?', { listener: what, error: err.code ?? err.message });
    socket.destroy();
  });
  log.debug({ listener: what }, 'client TLS on');
  return () => t.certificate.detach(server);
}

/** Reads the configured certificate (start-up fails on unreadable or mismatched files); undefined without one. */
export function openClientTls(config: ClientTlsConfig | undefined, refusals: RefusalLog, log: Logger): ClientTls | undefined {
  if (!config) return undefined;
  const certificate = new ServerCertificate({ cert: config.certFile, key: config.keyFile }, { logger: log, pollMs: config.pollMs });
  return { certificate, handshakeTimeoutMs: config.handshakeTimeoutMs, refusals };
}
