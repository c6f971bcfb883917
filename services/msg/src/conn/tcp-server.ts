import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '@tiertalk/log';
import { tlsServerOptions, watchClientTls } from './client-tls';
import type { ClientTls } from './client-tls';
import type { AdmissionTicket, ClientAdmission } from './admission';
import { listen } from './listen';
import type { Transport, TransportSink } from './transport';

/** net.Socket as a Transport. */
export class TcpTransport implements Transport {
  readonly kind: 'tcp' | 'tls';
  readonly remoteAddress: string;
  private endTimer: NodeJS.Timeout | undefined;
  private corked = false;
  // Frames written in one event-loop turn (an ACK and pushes of one batch)
  // leave in one writev instead of one syscall each.
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  constructor(private readonly socket: net.Socket) {
    this.kind = socket instanceof tls.TLSSocket ? 'tls' : 'tcp';
    this.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
  }

  attach(sink: TransportSink): void {
    this.socket.on('data', (chunk: Buffer) => sink.onData(chunk));
    this.socket.on('drain', () => sink.onDrain());
    this.socket.on('error', (err) => sink.onError(err));
    this.socket.on('close', () => {
      clearTimeout(this.endTimer);
      this.endTimer = undefined;
      sink.onClose();
    });
  }

  write(chunk: Buffer): boolean {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    return this.socket.write(chunk);
  }

  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(graceMs: number): void {
    if (this.socket.destroyed) return;
    this.socket.end();
    this.endTimer ??= setTimeout(() => this.socket.destroy(), graceMs);
  }

  destroy(): void {
    clearTimeout(this.endTimer);
    this.endTimer = undefined;
    this.socket.destroy();
  }
}

export interface ClientListener {
  readonly port: number;
  /** Stops accepting; existing connections are left to the caller. */
  stopAccepting(): void;
}

/**
 * Listens for TeamTalk clients on TCP, or with `tls` on TLS over TCP; every
 * socket (a TLS one once its handshake is done) that `admission` lets in is
 * handed to `accept`.
 */
export async function startTcpServer(
  host: string,
  port: number,
  accept: (t: Transport, ticket: AdmissionTicket) => void,
  log: Logger,
  admission: ClientAdmission,
  clientTls?: ClientTls,
): Promise<ClientListener> {
  const onSocket = (socket: net.Socket): void => {
    const ticket = admission.admit(socket.remoteAddress);
    if (!ticket) {
      socket.destroy();
      return;
    }
    socket.once('close', ticket.release);
    socket.setNoDelay(true);
    accept(new TcpTransport(socket), ticket);
  };
  let server: net.Server;
  let unwatch = (): void => undefined;
  if (clientTls) {
    const tlsServer = tls.createServer(tlsServerOptions(clientTls));
    tlsServer.on('secureConnection', onSocket);
    unwatch = watchClientTls(tlsServer, clientTls, 'TLS', log);
    server = tlsServer;
  } else {
    server = net.createServer({ noDelay: true });
    server.on('connection', onSocket);
  }
  const bound = await listen(server, port, host, clientTls ? 'TLS' : 'TCP', log);
  let stopped = false;
  return {
    port: bound,
    stopAccepting: () => {
      if (stopped) return;
      stopped = true;
      unwatch();
      server.close();
    },
  };
}
