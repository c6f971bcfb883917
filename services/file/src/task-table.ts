import { randomUUID } from 'node:crypto';
import type { Logger } from '@tiertalk/log';
import { IM } from '@tiertalk/proto';
import { fileMetrics } from './file-metrics';
import type { OfflineStore } from './offline-store';
import { TransferTask } from './transfer-task';

const { TransferFileType } = IM.BaseDefine;

export type TaskOutcome = 'done' | 'cancelled' | 'abandoned' | 'failed';

export interface TaskTableOptions {
  timeoutMs: number;
  maxTasks: number;
  logger: Logger;
  now?: () => number;
}

const modeLabel = (t: TransferTask): string => (t.online ? 'online' : t.state === 'downloading' ? 'download' : 'offline');

/**
 * The tasks this instance holds (TeamTalk's TransferTaskManager). A task ends
 * when its transfer is done or cancelled, when a side goes away, or when
 * nothing moved for `timeoutMs` (abandoned): its connections are closed and
 * an unfinished upload's bytes dropped.
 */
export class TaskTable {
  private readonly tasks = new Map<string, TransferTask>();
  private readonly now: () => number;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: TaskTableOptions,
    private readonly offline: OfflineStore,
  ) {
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.tasks.size;
  }

  get full(): boolean {
    return this.tasks.size >= this.opts.maxTasks;
  }

  /** A new task under a fresh UUID (TeamTalk's GenerateUUID). */
  create(mode: IM.BaseDefine.TransferFileType, fromUserId: number, toUserId: number, fileName: string, fileSize: number): TransferTask {
    const task = new TransferTask(randomUUID(), mode, fromUserId, toUserId, fileName, fileSize, this.now());
    this.tasks.set(task.taskId, task);
    fileMetrics.tasksCreated.inc({ mode: mode === TransferFileType.FILE_TYPE_ONLINE ? 'online' : 'offline' });
    return task;
  }

  get(taskId: string): TransferTask | undefined {
    return this.tasks.get(taskId);
  }

  /**
   * The task of a stored offline file, for its receiver's download: the one in
   * memory, or one made from the file's description in storage (another
   * instance stored it, or this one restarted since).
   */
  async forDownload(taskId: string): Promise<TransferTask | undefined> {
    const held = this.tasks.get(taskId);
    if (held !== undefined) return held.online ? undefined : held;
    const meta = await this.offline.meta(taskId);
    if (meta === undefined) return undefined;
    // Another login for the same task may have loaded it meanwhile.
    const again = this.tasks.get(taskId);
    if (again !== undefined) return again;
    if (this.full) return undefined;
    const task = new TransferTask(taskId, TransferFileType.FILE_TYPE_OFFLINE, meta.fromUserId, meta.toUserId, meta.fileName, meta.fileSize, this.now());
    task.state = 'downloading';
    this.tasks.set(taskId, task);
    fileMetrics.tasksCreated.inc({ mode: 'download' });
    return task;
  }

  /** Ends a task once: closes both sides (`reason` in their logs) and forgets it. False when it had already ended. */
  end(task: TransferTask, outcome: TaskOutcome, reason: string): boolean {
    if (this.tasks.get(task.taskId) !== task) return false;
    this.tasks.delete(task.taskId);
    fileMetrics.tasksEnded.inc({ mode: modeLabel(task), outcome });
    this.opts.logger.info({ taskId: task.taskId, outcome, reason, state: task.state, bytes: task.bytes, size: task.fileSize }, 'transfer task ended');
    task.download?.close();
    const upload = task.upload;
    task.upload = undefined;
    if (upload === undefined) {
      task.sender?.close(reason);
      task.receiver?.close(reason);
      return true;
    }
    // An unfinished upload's stream fails: the store keeps none of its bytes (FileStore.put).
    // The uploader is closed once the store has let go of them, so a closed connection means nothing is left.
    upload.sink.destroy(new Error(`upload ended: ${reason}`));
    void upload.done.catch(() => undefined).then(() => {
      task.sender?.close(reason);
      task.receiver?.close(reason);
    });
    return true;
  }

  /** Ends every task idle past the timeout. */
  sweep(): void {
    const cutoff = this.now() - this.opts.timeoutMs;
    for (const task of [...this.tasks.values()]) {
      if (task.lastActive <= cutoff) this.end(task, 'abandoned', `no progress for ${this.opts.timeoutMs} ms`);
    }
  }

  startSweep(): void {
    const every = Math.max(100, Math.min(5000, Math.floor(this.opts.timeoutMs / 4)));
    this.sweepTimer = setInterval(() => this.sweep(), every);
    this.sweepTimer.unref();
  }

  stop(): void {
    clearInterval(this.sweepTimer);
    for (const task of [...this.tasks.values()]) this.end(task, 'cancelled', 'file server stopping');
  }
}
