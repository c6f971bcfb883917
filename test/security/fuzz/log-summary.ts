// What a service logged during a run, grouped: the fuzzer's record of findings.

// The services log pino's level labels; numbers are accepted too.
const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

export interface LogSummary {
  /** "<level label> <message>" (warn and above) → count. */
  counts: Record<string, number>;
  errors: number;
  /** Lines that are not JSON (a crash's stack trace lands here). */
  unstructured: string[];
}

export function summariseLog(text: string): LogSummary {
  const out: LogSummary = { counts: {}, errors: 0, unstructured: [] };
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('=== ')) continue;
    let rec: { level?: number | string; msg?: string; err?: { message?: string } };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      if (out.unstructured.length < 50) out.unstructured.push(line.slice(0, 300));
      continue;
    }
    const level = typeof rec.level === 'number' ? rec.level : (LEVELS[rec.level ?? ''] ?? 0);
    if (level < LEVELS.warn) continue;
    if (level >= LEVELS.error) out.errors += 1;
    const label = Object.keys(LEVELS).find((k) => LEVELS[k] === level) ?? String(level);
    const key = `${label} ${rec.msg ?? ''}${rec.err?.message ? `: ${rec.err.message.slice(0, 120)}` : ''}`;
    out.counts[key] = (out.counts[key] ?? 0) + 1;
  }
  return out;
}
