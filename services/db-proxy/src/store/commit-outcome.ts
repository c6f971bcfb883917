import type { Pool, RowDataPacket } from 'mysql2/promise';

// A connection that died under COMMIT leaves the outcome unknown: the server
// may have committed before the reply was lost. Answering "not stored" for a
// stored message would make its sender resend it, so the outcome is found out
// instead: first the dead connection's server thread must be gone (killed if
// it lingers), because only then is its transaction final (committed, or
// rolled back with the thread); then one row the transaction wrote is looked
// up. Message ids are never reused, so a row with that (conversation, msgId)
// can only be this transaction's.

const ER_NO_SUCH_THREAD = 1094;
const THREAD_GONE_TIMEOUT_MS = 10_000;

export interface RowProbe {
  /** Yields at least one row when the transaction's row exists. */
  sql: string;
  params: Array<string | number>;
}

/** True when the transaction of the lost connection `threadId` committed (throws if the server cannot tell); `master` is a pool of that connection's server. */
export async function committedAfterLostConnection(master: Pool, threadId: number | null | undefined, probe: RowProbe): Promise<boolean> {
  if (typeof threadId === 'number' && threadId > 0) await waitUntilThreadGone(master, threadId);
  const [rows] = await master.query<RowDataPacket[]>(probe.sql, probe.params);
  return rows.length > 0;
}

async function waitUntilThreadGone(master: Pool, threadId: number): Promise<void> {
  const deadline = Date.now() + THREAD_GONE_TIMEOUT_MS;
  for (let round = 0; ; round += 1) {
    const [rows] = await master.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ?', [threadId]);
    if (Number(rows[0]?.n ?? 0) === 0) return;
    if (Date.now() > deadline) throw new Error(`server thread ${threadId} of a lost connection did not end within ${THREAD_GONE_TIMEOUT_MS} ms`);
    if (round === 0) {
      await master.query('KILL CONNECTION ?', [threadId]).catch((err: unknown) => {
        if (!(typeof err === 'object' && err !== null && 'errno' in err && err.errno === ER_NO_SUCH_THREAD)) throw err;
      });
    }
    await new Promise((r) => setTimeout(r, Math.min(10 * (round + 1), 100)));
  }
}
