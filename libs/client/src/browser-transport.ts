// The browser's transport (transport.ts): the page's own WebSocket, binary
// messages carrying bytes of the PDU stream, as the msg gateway's WebSocket port expects.
import { ClientError } from './errors';
import type { Transport, TransportHandlers } from './transport';

/** Opens `url` (ws:// or wss://; the browser checks wss:// certificates itself). Rejects with CONNECT_FAILED. */
export function openWebSocket(url: string, timeoutMs: number, handlers: TransportHandlers): Promise<Transport> {
  return new Promise((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      reject(new ClientError('CONNECT_FAILED', `${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      return;
    }
    ws.binaryType = 'arraybuffer';
    let open = false;
    let lastError: Error | undefined;
    const timer = setTimeout(() => {
      ws.close();
      reject(new ClientError('CONNECT_FAILED', `${url}: no connection within ${timeoutMs} ms`));
    }, timeoutMs);

    ws.addEventListener('open', () => {
      clearTimeout(timer);
      open = true;
      resolve({
        write: (bytes) => ws.send(bytes),
        get queuedBytes() {
          return ws.bufferedAmount;
        },
        destroy: () => ws.close(),
      });
    });
    ws.addEventListener('message', (ev: MessageEvent) => {
      if (!(ev.data instanceof ArrayBuffer)) {
        lastError = new ClientError('TRANSPORT_ERROR', 'text WebSocket message on a binary PDU stream');
        ws.close();
        return;
      }
      handlers.data(new Uint8Array(ev.data));
    });
    // A browser tells scripts nothing about why a WebSocket failed; the close code says a little.
    ws.addEventListener('error', () => {
      lastError ??= new ClientError('TRANSPORT_ERROR', `${url}: WebSocket error`);
    });
    ws.addEventListener('close', (ev: { code: number }) => {
      if (open) {
        handlers.closed(lastError);
        return;
      }
      clearTimeout(timer);
      reject(new ClientError('CONNECT_FAILED', `${url}: connection refused or closed (code ${ev.code})`));
    });
  });
}
