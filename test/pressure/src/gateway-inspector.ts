// A spawned gateway's V8 inspector (testkit's ClusterSpec.inspect: loopback,
// benchmark clusters only): forces full GCs, reads process.memoryUsage() and
// streams heap snapshots to a file. Speaks the Chrome DevTools Protocol over ws.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import WebSocket from 'ws';

/** process.memoryUsage() of the gateway, bytes. */
export interface GatewayMemory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
}

const CALL_TIMEOUT_MS = 120_000;

export class GatewayInspector {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private onChunk: ((chunk: string) => void) | undefined;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => this.onMessage(String(data)));
    ws.on('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('inspector connection closed'));
      this.pending.clear();
    });
  }

  /** Connects to the inspector listening on 127.0.0.1:port. */
  static async open(port: number): Promise<GatewayInspector> {
    const res = await fetch(`http://127.0.0.1:${port}/json/list`);
    const targets = (await res.json()) as { webSocketDebuggerUrl?: string }[];
    const url = targets[0]?.webSocketDebuggerUrl;
    if (url === undefined) throw new Error(`inspector on port ${port} lists no target`);
    // Snapshots of many connections arrive as large chunks.
    const ws = new WebSocket(url, { maxPayload: 1 << 30 });
    await once(ws, 'open');
    return new GatewayInspector(ws);
  }

  /** Full GCs until the heap stops shrinking (weak callbacks free more on a later pass), then process.memoryUsage(). */
  async memoryAfterGc(): Promise<GatewayMemory> {
    let last = Infinity;
    for (let pass = 0; pass < 4; pass++) {
      await this.call('HeapProfiler.collectGarbage');
      const now = (await this.memoryUsage()).heapUsed;
      if (now >= last * 0.999) break;
      last = now;
    }
    return this.memoryUsage();
  }

  async memoryUsage(): Promise<GatewayMemory> {
    const r = (await this.call('Runtime.evaluate', { expression: 'process.memoryUsage()', returnByValue: true })) as { result: { value: GatewayMemory } };
    return r.result.value;
  }

  /** Writes a heap snapshot (V8 collects garbage first) to `file`. */
  async writeHeapSnapshot(file: string): Promise<void> {
    const out = createWriteStream(file);
    this.onChunk = (chunk) => out.write(chunk);
    try {
      await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false, captureNumericValue: false });
    } finally {
      this.onChunk = undefined;
      out.end();
      await once(out, 'close');
    }
  }

  close(): void {
    this.ws.close();
  }

  private call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`inspector ${method}: no answer in ${CALL_TIMEOUT_MS} ms`));
      }, CALL_TIMEOUT_MS);
      const done = (fn: () => void): void => {
        clearTimeout(timer);
        fn();
      };
      this.pending.set(id, { resolve: (r) => done(() => resolve(r)), reject: (e) => done(() => reject(e)) });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  private onMessage(text: string): void {
    const msg = JSON.parse(text) as { id?: number; method?: string; params?: { chunk?: string }; result?: unknown; error?: { message: string } };
    if (msg.method === 'HeapProfiler.addHeapSnapshotChunk') {
      if (msg.params?.chunk !== undefined) this.onChunk?.(msg.params.chunk);
      return;
    }
    if (msg.id === undefined) return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.error) p.reject(new Error(msg.error.message));
    else p.resolve(msg.result);
  }
}
