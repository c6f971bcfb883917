// The byte pipe under a client connection. TCP and WebSocket differ only here:
// the Connection above sees one byte stream either way.

/** Receives a transport's events; Connection implements it. */
export interface TransportSink {
  onData(chunk: Buffer): void;
  /** The transport accepted everything written so far (after write() returned false). */
  onDrain(): void;
  /** A transport error or protocol violation; onClose follows or the sink closes. */
  onError(err: Error): void;
  onClose(): void;
}

export interface Transport {
  /** tls: TeamTalk frames over TLS (TT_TLS_TCP_PORT); ws: WebSocket, with or without TLS. */
  readonly kind: 'tcp' | 'tls' | 'ws';
  readonly remoteAddress: string;
  /** Starts delivering events; called once. */
  attach(sink: TransportSink): void;
  /** Queues a chunk; false when the caller should wait for onDrain before writing more. */
  write(chunk: Buffer): boolean;
  /** Bytes written but not yet handed to the kernel. */
  readonly bufferedBytes: number;
  pause(): void;
  resume(): void;
  /** Flushes what is queued, then closes; destroys after graceMs if the peer does not read. */
  end(graceMs: number): void;
  /** Closes at once, dropping anything queued. */
  destroy(): void;
  /** Transports that buffer whole messages (WebSocket) bound them; a larger one closes the transport. */
  setMaxMessageBytes?(bytes: number): void;
}

export type TransportErrorCode = 'WS_TEXT_MESSAGE';

export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly code: TransportErrorCode,
    message: string,
  ) {
    super(message);
  }
}
