// Node's transports (transport.ts): TCP, TeamTalk over TLS, ws:// and wss:// (the `ws` package).
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { WebSocket, type RawData } from 'ws';
import { ClientError } from './errors';
import type { ClientTlsOptions, Transport, TransportHandlers, TransportKind } from './transport';

export type { ClientTlsOptions, Transport, TransportHandlers, TransportKind } from './transport';

export interface OpenOptions {
  kind: TransportKind;
  host: string;
  port: number;
  timeoutMs: number;
  /** TLS for 'tcp', wss:// for 'ws'. */
  tls?: ClientTlsOptions;
  /** Source address (tests spread clients over 127.0.0.x). */
  localAddress?: string;
}

export function openTransport(opts: OpenOptions, handlers: TransportHandlers): Promise<Transport> {
  return opts.kind === 'ws' ? openWs(opts, handlers) : openTcp(opts, handlers);
}

/** Node's options for a verifying TLS client (tls.connect, ws, https). */
export function tlsConnectOptions(host: string, t: ClientTlsOptions): tls.ConnectionOptions {
  const ca = t.ca ?? (t.caFile !== undefined ? readFileSync(t.caFile) : undefined);
  // SNI carries DNS names only; an IP is still checked against the certificate's IP SANs.
  const servername = t.servername ?? (net.isIP(host) === 0 ? host : undefined);
  return { ...(ca !== undefined ? { ca } : {}), ...(servername !== undefined ? { servername } : {}), rejectUnauthorized: true, minVersion: 'TLSv1.2' };
}

/** OpenSSL's verify errors and Node's name check: the server's certificate was not accepted. */
export function isCertificateError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /CERT|SIGNATURE|ISSUER|ALTNAME|UNABLE_TO_GET|SELF_SIGNED/.test(code);
}

function connectFailed(opts: OpenOptions, why: string, cause?: unknown): ClientError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const scheme = opts.tls ? (opts.kind === 'ws' ? 'wss' : 'tls') : opts.kind;
  if (opts.tls && isCertificateError(cause)) {
    return new ClientError('TLS_VERIFY_FAILED', `${scheme} connect to ${opts.host}:${opts.port}: server certificate not accepted (${String(code)}): ${why}`, { cause });
  }
  return new ClientError('CONNECT_FAILED', `${scheme} connect to ${opts.host}:${opts.port} failed: ${why}`, { cause });
}

function openTcp(opts: OpenOptions, handlers: TransportHandlers): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const local = opts.localAddress ? { localAddress: opts.localAddress } : {};
    let socket: net.Socket;
    try {
      socket = opts.tls ? tls.connect({ host: opts.host, port: opts.port, ...local, ...tlsConnectOptions(opts.host, opts.tls) }) : net.connect({ host: opts.host, port: opts.port, ...local });
    } catch (err) {
      // An unreadable CA file, a bad PEM.
      reject(connectFailed(opts, err instanceof Error ? err.message : String(err), err));
      return;
    }
    let open = false;
    let lastError: Error | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(connectFailed(opts, `no connection within ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);

    // A TLS socket is usable once its handshake verified the server.
    socket.once(opts.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      open = true;
      // Small PDUs (acks, heartbeats) must not wait for Nagle.
      socket.setNoDelay(true);
      resolve({
        write: (bytes) => {
          socket.write(bytes);
        },
        get queuedBytes() {
          return socket.writableLength;
        },
        destroy: () => {
          socket.destroy();
        },
      });
    });
    socket.on('data', (chunk: Buffer) => handlers.data(chunk));
    socket.on('error', (err) => {
      lastError = err;
      if (!open) {
        clearTimeout(timer);
        reject(connectFailed(opts, err.message, err));
      }
    });
    socket.once('close', () => {
      if (open) handlers.closed(lastError);
    });
  });
}

function wsUrl(host: string, port: number, secure: boolean): string {
  const scheme = secure ? 'wss' : 'ws';
  return host.includes(':') ? `${scheme}://[${host}]:${port}/` : `${scheme}://${host}:${port}/`;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function openWs(opts: OpenOptions, handlers: TransportHandlers): Promise<Transport> {
  return new Promise((resolve, reject) => {
    let tlsOptions: tls.ConnectionOptions = {};
    try {
      if (opts.tls) tlsOptions = tlsConnectOptions(opts.host, opts.tls);
    } catch (err) {
      reject(connectFailed(opts, err instanceof Error ? err.message : String(err), err));
      return;
    }
    const ws = new WebSocket(wsUrl(opts.host, opts.port, opts.tls !== undefined), { handshakeTimeout: opts.timeoutMs, perMessageDeflate: false, ...tlsOptions });
    ws.binaryType = 'nodebuffer';
    let open = false;
    let lastError: Error | undefined;

    ws.on('open', () => {
      open = true;
      resolve({
        write: (bytes) => {
          ws.send(bytes, { binary: true });
        },
        get queuedBytes() {
          return ws.bufferedAmount;
        },
        destroy: () => {
          ws.terminate();
        },
      });
    });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        lastError = new ClientError('TRANSPORT_ERROR', 'text WebSocket message on a binary PDU stream');
        ws.terminate();
        return;
      }
      handlers.data(toBuffer(data));
    });
    ws.on('error', (err) => {
      lastError = err;
      if (!open) reject(connectFailed(opts, err.message, err));
    });
    ws.on('close', () => {
      if (open) handlers.closed(lastError);
    });
  });
}
