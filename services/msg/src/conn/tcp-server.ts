import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '@tiertalk/log';
import { tlsServerOptions, watchClientTls } from './client-tls';
import type { ClientTls } from './client-tls';
import type { AdmissionTicket, ClientAdmission } from './admission';
import { clientListener, listen, type ClientListener } from './listen';
import type { Transport, TransportSink } from './transport';

// The socket listeners are shared by all connections and find their transport
// here (EventEmitter calls them with `this` = the socket): an idle connection
// holds no closures (issue 13).
const transportOf = new WeakMap<net.Socket, TcpTransport>();

function onSocketData(this: net.Socket, chunk: Buffer): void {
  transportOf.get(this)?.sink?.onData(chunk);
}
function onSocketDrain(this: net.Socket): void {
  transportOf.get(this)?.sink?.onDrain();
}
function onSocketError(this: net.Socket, err: Error): void {
  transportOf.get(this)?.sink?.onError(err);
}
function onSocketClose(this: net.Socket): void {
  transportOf.get(this)?.closed();
}
function destroySocket(socket: net.Socket): void {
  socket.destroy();
}
function uncorkTransport(t: TcpTransport): void {
  t.uncork();
}

/** net.Socket as a Transport. */
export class TcpTransport implements Transport {
  readonly kind: 'tcp' | 'tls';
  sink: TransportSink | undefined;
  private endTimer: NodeJS.Timeout | undefined;
  private corked = false;

  constructor(private readonly socket: net.Socket) {
    this.kind = socket instanceof tls.TLSSocket ? 'tls' : 'tcp';
  }

  /** Built on use (logs, refusals): not a string kept per connection. */
  get remoteAddress(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? 0}`;
  }

  attach(sink: TransportSink): void {
    this.sink = sink;
    transportOf.set(this.socket, this);
    this.socket.on('data', onSocketData);
    this.socket.on('drain', onSocketDrain);
    this.socket.on('error', onSocketError);
    this.socket.on('close', onSocketClose);
  }

  /** The socket closed: the end timer is no longer needed, the sink learns of it. */
  closed(): void {
    clearTimeout(this.endTimer);
    this.endTimer = undefined;
    this.sink?.onClose();
  }

  write(chunk: Buffer): boolean {
    // Frames written in one event-loop turn (an ACK and pushes of one batch)
    // leave in one writev instead of one syscall each.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(uncorkTransport, this);
    }
    return this.socket.write(chunk);
  }

  uncork(): void {
    this.corked = false;
    this.socket.uncork();
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
    this.endTimer ??= setTimeout(destroySocket, graceMs, this.socket);
  }

  destroy(): void {
    clearTimeout(this.endTimer);
    this.endTimer = undefined;
    this.socket.destroy();
  }
}

export type { ClientListener } from './listen';

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
    socket.setNoDelay(true);
    // The Connection releases the ticket when it closes; accept releases it when it refuses the socket.
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
  return clientListener(bound, () => {
    unwatch();
    server.close();
  });
}
