import { EventEmitter } from 'node:events';
import type { Etcd3, IWatchResponse, Watcher } from 'etcd3';
import type { Logger } from '@tiertalk/log';
import { backoffMs, sleep } from './backoff';
import { InstanceInfo, isLeaving, parseInstanceInfo, sameInfo } from './instance';

export interface ServiceWatchEvents {
  added: [info: InstanceInfo];
  updated: [info: InstanceInfo];
  removed: [id: string];
  /**
   * The same id registered again under a new lease with unchanged info: a
   * restarted process (same id and port) that came back before its old lease
   * ended. Callers should drop connections to the old process.
   */
  reregistered: [info: InstanceInfo];
  /** Once after each batch of added/updated/removed. */
  change: [];
}

const CANCEL_WAIT_MS = 2000;

/**
 * Live view of one service's instances: loads the list, then follows etcd
 * watch events. When the watch stream fails it reloads the whole list and
 * emits the differences. Create with Registry.watch().
 */
export class ServiceWatch extends EventEmitter<ServiceWatchEvents> {
  /** Resolves after the initial load. */
  readonly ready: Promise<void>;
  private markReady: () => void = () => undefined;
  private readonly instances = new Map<string, InstanceInfo>();
  /** The etcd lease each instance's key is attached to. */
  private readonly leases = new Map<string, string>();
  private watcher: Watcher | undefined;
  private readonly stopped = new AbortController();
  private resyncing = false;
  private resyncAgain = false;
  private closing: Promise<void> | undefined;
  /** Instances whose key vanished without a leaving mark: removed when the grace ends unless put again. */
  private readonly pendingRemovals = new Map<string, NodeJS.Timeout>();

  /** @internal use Registry.watch() */
  constructor(
    private readonly client: Etcd3,
    readonly service: string,
    private readonly keyPrefix: string,
    private readonly log: Logger,
    private readonly onClose: (w: ServiceWatch) => void,
    /** See RegistryOptions.removalGraceMs; 0 removes at once. */
    private readonly removalGraceMs = 0,
  ) {
    super();
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
  }

  /** Live instances ordered by id. The objects are frozen snapshots. */
  list(): InstanceInfo[] {
    return [...this.instances.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get(id: string): InstanceInfo | undefined {
    return this.instances.get(id);
  }

  get size(): number {
    return this.instances.size;
  }

  get closed(): boolean {
    return this.stopped.signal.aborted;
  }

  /** @internal initial load; rejects when etcd cannot be read. */
  async start(): Promise<void> {
    await this.sync();
    this.markReady();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopped.abort();
      for (const timer of this.pendingRemovals.values()) clearTimeout(timer);
      this.pendingRemovals.clear();
      this.onClose(this);
      await this.detachWatcher();
    })();
    return this.closing;
  }

  private requestResync(reason: string, err?: Error): void {
    if (this.closed) return;
    this.log.warn({ service: this.service, err, reason }, 'etcd watch interrupted; reloading instances');
    if (this.resyncing) {
      this.resyncAgain = true;
      return;
    }
    void this.resyncLoop();
  }

  /** Never rejects: retries with backoff until a sync succeeds or the watch closes. */
  private async resyncLoop(): Promise<void> {
    this.resyncing = true;
    let attempt = 0;
    try {
      do {
        this.resyncAgain = false;
        try {
          await this.sync();
          attempt = 0;
        } catch (err) {
          if (this.closed) return;
          this.resyncAgain = true;
          const delay = backoffMs(attempt);
          attempt += 1;
          this.log.warn({ service: this.service, err, attempt, retryInMs: delay }, 'etcd instance reload failed');
          await sleep(delay, this.stopped.signal);
        }
      } while (this.resyncAgain && !this.closed);
    } finally {
      this.resyncing = false;
    }
  }

  /** Loads the full list at revision R, emits differences, then watches from R+1 so nothing is missed. */
  private async sync(): Promise<void> {
    await this.detachWatcher();
    const res = await this.client.getAll().prefix(this.keyPrefix).exec();
    if (this.closed) return;
    const fresh = new Map<string, { info: InstanceInfo; lease: string }>();
    for (const kv of res.kvs) {
      const info = this.parse(kv.key.toString(), kv.value.toString());
      if (info) fresh.set(info.id, { info, lease: kv.lease });
    }
    let changed = false;
    for (const id of [...this.instances.keys()]) {
      if (!fresh.has(id)) changed = this.vanished(id) || changed;
    }
    for (const { info, lease } of fresh.values()) changed = this.upsert(info, lease) || changed;
    if (changed) this.emit('change');

    const from = (BigInt(res.header.revision) + 1n).toString();
    const w = this.client.watch().prefix(this.keyPrefix).startRevision(from).watcher();
    this.watcher = w;
    w.on('data', (r) => {
      if (this.watcher === w) this.onData(r);
    });
    w.on('disconnected', (err) => {
      if (this.watcher === w) this.requestResync('disconnected', err);
    });
    // Also fires when etcd cancels the watch (e.g. revision compacted).
    w.on('error', (err) => {
      if (this.watcher === w) this.requestResync('error', err);
      else this.log.debug({ service: this.service, err }, 'error on a replaced etcd watcher');
    });
  }

  private async detachWatcher(): Promise<void> {
    const w = this.watcher;
    if (!w) return;
    this.watcher = undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CANCEL_WAIT_MS);
    });
    const cancel = w.cancel().catch((err: unknown) => {
      this.log.debug({ service: this.service, err }, 'etcd watch cancel failed');
    });
    // A cancel can wait for a reconnect; do not let close() hang on it.
    await Promise.race([cancel, timeout]);
    clearTimeout(timer);
  }

  private onData(res: IWatchResponse): void {
    let changed = false;
    for (const ev of res.events) {
      const key = ev.kv.key.toString();
      if (ev.type === 'Put') {
        const info = this.parse(key, ev.kv.value.toString());
        if (info) changed = this.upsert(info, ev.kv.lease) || changed;
        // A key whose value turned bad no longer describes a usable instance.
        else changed = this.remove(key.slice(this.keyPrefix.length)) || changed;
      } else {
        changed = this.vanished(key.slice(this.keyPrefix.length)) || changed;
      }
    }
    if (changed) this.emit('change');
  }

  private upsert(info: InstanceInfo, lease: string): boolean {
    this.cancelRemoval(info.id);
    const old = this.instances.get(info.id);
    const oldLease = this.leases.get(info.id);
    this.leases.set(info.id, lease);
    if (old && sameInfo(old, info)) {
      if (oldLease === undefined || oldLease === lease) return false;
      this.emit('reregistered', old);
      return true;
    }
    this.instances.set(info.id, info);
    this.emit(old ? 'updated' : 'added', info);
    return true;
  }

  /**
   * The key is gone. An instance that said it was leaving (graceful stop) is
   * removed at once; otherwise its lease ended (crash, etcd outage, pause) and
   * it stays listed for the grace, so a lease re-put right after an etcd
   * outage is never seen as a departure. Returns true when removed now.
   */
  private vanished(id: string): boolean {
    const info = this.instances.get(id);
    if (info === undefined || this.removalGraceMs <= 0 || isLeaving(info) || this.closed) {
      this.cancelRemoval(id);
      return this.remove(id);
    }
    if (this.pendingRemovals.has(id)) return false;
    const timer = setTimeout(() => {
      this.pendingRemovals.delete(id);
      if (this.remove(id)) this.emit('change');
    }, this.removalGraceMs);
    timer.unref();
    this.pendingRemovals.set(id, timer);
    this.log.info({ service: this.service, id, graceMs: this.removalGraceMs }, 'instance key vanished; removing it unless it is put again within the grace');
    return false;
  }

  private cancelRemoval(id: string): void {
    const timer = this.pendingRemovals.get(id);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.pendingRemovals.delete(id);
  }

  private remove(id: string): boolean {
    this.leases.delete(id);
    if (!this.instances.delete(id)) return false;
    this.emit('removed', id);
    return true;
  }

  /** Malformed values are logged and skipped: another process's bug must not crash us. */
  private parse(key: string, raw: string): InstanceInfo | undefined {
    const id = key.slice(this.keyPrefix.length);
    const info = parseInstanceInfo(raw);
    if (!info || info.id !== id || info.service !== this.service) {
      this.log.warn({ key, value: raw.slice(0, 200) }, 'ignoring malformed instance value in etcd');
      return undefined;
    }
    Object.freeze(info.meta);
    return Object.freeze(info);
  }
}
