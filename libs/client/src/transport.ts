// The byte pipe under a client: a TCP socket, or a WebSocket whose binary
// messages carry bytes of the same PDU stream (message boundaries mean nothing).
// Only the contract lives here; node-transport.ts and browser-transport.ts implement it.

export type TransportKind = 'tcp' | 'ws';

export interface TransportHandlers {
  data(chunk: Uint8Array): void;
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

/**
 * TLS towards the server (TeamTalk over TLS, wss://, https:// login). The
 * server's certificate is always verified: it must chain to `ca` (or, without
 * it, to the system's roots) and name the host (or `servername`).
 */
export interface ClientTlsOptions {
  /** PEM CA certificate(s) to trust instead of the system's roots. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** A PEM file of CA certificates (read once, when connecting); e.g. `.run/tls/ca.crt` of `make up`. */
  caFile?: string;
  /** The name the server's certificate must carry; default: the host connected to. */
  servername?: string;
}
