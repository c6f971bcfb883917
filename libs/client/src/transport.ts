// The byte pipe under a client: a TCP socket, or a WebSocket whose binary
// messages carry bytes of the same PDU stream (message boundaries mean nothing).
import net from 'node:net';
import { WebSocket, type RawData } from 'ws';
import { ClientError } from './errors';

export type TransportKind = 'tcp' | 'ws';

export interface TransportHandlers {
  data(chunk: Buffer): void;
  /** Called once, when the pipe is gone; `err` when it broke rather than closed. */
  closed(err?: Error): void;
}

export interface Transport {
  write(bytes: Uint8Array): void;
  /** Bytes handed to the pipe but not yet sent. */
  readonly queuedBytes: number;
  /** Closes at once; handlers.closed follows. */
  destroy(): void;
}

export interface OpenOptions {
  kind: TransportKind;
  host: string;
  port: number;
  timeoutMs: number;
  localAddress?: string;
}

export function openTransport(opts: OpenOptions, handlers: TransportHandlers): Promise<Transport> {
  return opts.kind === 'ws' ? openWs(opts, handlers) : openTcp(opts, handlers);
}

function connectFailed(opts: OpenOptions, why: string, cause?: unknown): ClientError {
  return new ClientError('CONNECT_FAILED', `${opts.kind} connect to ${opts.host}:${opts.port} failed: ${why}`, { cause });
}

function openTcp(opts: OpenOptions, handlers: TransportHandlers): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: opts.host, port: opts.port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    let open = false;
    let lastError: Error | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(connectFailed(opts, `no connection within ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);

    socket.once('connect', () => {
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

function wsUrl(host: string, port: number): string {
  return host.includes(':') ? `ws://[${host}]:${port}/` : `ws://${host}:${port}/`;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function openWs(opts: OpenOptions, handlers: TransportHandlers): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(opts.host, opts.port), { handshakeTimeout: opts.timeoutMs, perMessageDeflate: false });
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
