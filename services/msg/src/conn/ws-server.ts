import http from 'node:http';
import https from 'node:https';
import { WebSocket, WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import type { Logger } from '@tiertalk/log';
import { tlsServerOptions, watchClientTls } from './client-tls';
import type { ClientTls } from './client-tls';
import type { AdmissionTicket, ClientAdmission } from './admission';
import { clientListener, listen } from './listen';
import type { ClientListener } from './listen';
import { TransportError } from './transport';
import type { Transport, TransportSink } from './transport';

// ws.send() has no boolean return; we count bytes handed to it but not yet
// written and report "full" above this, like a socket's high-water mark.
const WS_HIGH_WATER_MARK = 64 * 1024;

/** A WebSocket carrying the TeamTalk byte stream in binary messages. */
export class WsTransport implements Transport {
  readonly kind = 'ws';
  private pending = 0;
  private needDrain = false;
  private sink: TransportSink | undefined;
  private endTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocket,
    readonly remoteAddress: string,
  ) {}

  attach(sink: TransportSink): void {
    this.sink = sink;
    this.ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) {
        sink.onError(new TransportError('WS_TEXT_MESSAGE', 'text WebSocket message on a binary PDU stream'));
        return;
      }
      sink.onData(toBuffer(data));
    });
    this.ws.on('error', (err) => sink.onError(err));
    this.ws.on('close', () => {
      clearTimeout(this.endTimer);
      this.endTimer = undefined;
      sink.onClose();
    });
  }

  write(chunk: Buffer): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    this.pending += chunk.length;
    this.ws.send(chunk, { binary: true }, () => this.written(chunk.length));
    if (this.pending > WS_HIGH_WATER_MARK) this.needDrain = true;
    return !this.needDrain;
  }

  get bufferedBytes(): number {
    return this.pending;
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  end(graceMs: number): void {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(1000);
    this.endTimer ??= setTimeout(() => this.ws.terminate(), graceMs);
  }

  destroy(): void {
    clearTimeout(this.endTimer);
    this.endTimer = undefined;
    this.ws.terminate();
  }

  /**
   * ws buffers a whole message before handing it over and has no per-connection
   * limit, only the server's maxPayload; so a stranger could make us hold one of
   * 2 × TT_MAX_FRAME_BYTES. Before login the receiver's bound is lowered (ws 8's
   * Receiver field; the pre-login frame test covers it if ws ever renames it).
   */
  setMaxMessageBytes(bytes: number): void {
    const receiver = (this.ws as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
    if (receiver && typeof receiver._maxPayload === 'number') receiver._maxPayload = bytes;
  }

  private written(bytes: number): void {
    this.pending -= bytes;
    if (this.needDrain && this.pending === 0) {
      this.needDrain = false;
      this.sink?.onDrain();
    }
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Listens for WebSocket clients (wss:// with `clientTls`); binary messages feed the same FrameReader as TCP. */
export async function startWsServer(
  host: string,
  port: number,
  maxFrameBytes: number,
  accept: (t: Transport, ticket: AdmissionTicket) => void,
  log: Logger,
  admission: ClientAdmission,
  clientTls?: ClientTls,
): Promise<ClientListener> {
  const notWebSocket = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
    res.writeHead(426, { Connection: 'close', 'Content-Type': 'text/plain' });
    res.end('WebSocket only\n');
  };
  let unwatch = (): void => undefined;
  let server: http.Server | https.Server;
  if (clientTls) {
    const httpsServer = https.createServer(tlsServerOptions(clientTls), notWebSocket);
    unwatch = watchClientTls(httpsServer, clientTls, 'WebSocket TLS', log);
    server = httpsServer;
  } else {
    server = http.createServer(notWebSocket);
  }
  // A message may carry a whole frame plus a few small ones behind it.
  // Admission is decided on the upgrade request: a refused one gets an HTTP status, not a WebSocket.
  const tickets = new WeakMap<http.IncomingMessage, AdmissionTicket>();
  const verifyClient = (info: { origin?: string; req: http.IncomingMessage }, done: (ok: boolean, code?: number) => void): void => {
    const ip = info.req.socket.remoteAddress;
    if (!admission.originAllowed(info.req.headers.origin, ip)) return done(false, 403);
    const ticket = admission.admit(ip);
    if (!ticket) return done(false, 429);
    info.req.socket.once('close', () => ticket.release());
    tickets.set(info.req, ticket);
    done(true);
  };
  const wss = new WebSocketServer({ server, maxPayload: 2 * maxFrameBytes, clientTracking: false, perMessageDeflate: false, verifyClient });
  wss.on('error', (err) => log.error({ err }, 'WebSocket server error'));
  wss.on('connection', (ws, req) => {
    ws.binaryType = 'nodebuffer';
    const ticket = tickets.get(req);
    if (!ticket) return ws.terminate();
    accept(new WsTransport(ws, `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`), ticket);
  });
  const bound = await listen(server, port, host, 'WebSocket', log);
  return clientListener(bound, () => {
    unwatch();
    server.close();
    wss.close();
  });
}
