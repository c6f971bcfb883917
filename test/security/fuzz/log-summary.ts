// What a service logged during a run, grouped: the fuzzer's record of findings.

export interface LogSummary {
  /** pino level (40 warn, 50 error, 60 fatal) and message → count. */
  counts: Record<string, number>;
  errors: number;
  /** Lines that are not JSON (a crash's stack trace lands here). */
  unstructured: string[];
}

export function summariseLog(text: string): LogSummary {
  const out: LogSummary = { counts: {}, errors: 0, unstructured: [] };
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('=== ')) continue;
    let rec: { level?: number; msg?: string; err?: { message?: string } };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      if (out.unstructured.length < 50) out.unstructured.push(line.slice(0, 300));
      continue;
    }
    const level = rec.level ?? 0;
    if (level < 40) continue;
    if (level >= 50) out.errors += 1;
    const key = `${level} ${rec.msg ?? ''}${rec.err?.message ? `: ${rec.err.message.slice(0, 120)}` : ''}`;
    out.counts[key] = (out.counts[key] ?? 0) + 1;
  }
  return out;
}
