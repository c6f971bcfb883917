// The text of a pressure message. It names the run, the sender and its
// sequence number and the send time (performance.now() in this process: every
// client lives here, so sender and receiver read the same clock).
export interface BodyFields {
  runId: string;
  sender: number;
  seq: number;
  sentAtMs: number;
}

const TAG = 'tt-bench';
/** TeamTalk's MAX_MSG_LEN (docs/PROTOCOL.md §1). */
export const MAX_BODY_BYTES = 4096;

/** `tt-bench <run> <sender> <seq> <sentAtMs>`, padded with '.' to `size` bytes when larger. */
export function encodeBody(f: BodyFields, size = 0): Buffer {
  const text = `${TAG} ${f.runId} ${f.sender} ${f.seq} ${f.sentAtMs.toFixed(3)} `;
  const pad = Math.max(0, Math.min(size, MAX_BODY_BYTES) - Buffer.byteLength(text));
  return Buffer.from(pad > 0 ? text + '.'.repeat(pad) : text, 'utf8');
}

/** The fields of a body this tool wrote, or undefined for anything else. */
export function parseBody(bytes: Uint8Array): BodyFields | undefined {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 96)).toString('latin1');
  const parts = head.split(' ');
  if (parts.length < 5 || parts[0] !== TAG) return undefined;
  const sender = Number(parts[2]);
  const seq = Number(parts[3]);
  const sentAtMs = Number(parts[4]);
  if (!Number.isSafeInteger(sender) || sender < 0 || !Number.isSafeInteger(seq) || seq < 0 || !Number.isFinite(sentAtMs)) return undefined;
  return { runId: parts[1], sender, seq, sentAtMs };
}
