/** What became of one POST: delivered, worth another attempt, or refused for good. */
export type PostOutcome = { kind: 'ok' } | { kind: 'retry'; reason: string } | { kind: 'reject'; reason: string };

/** 408, 425, 429 and 5xx are the receiver's temporary trouble; other 4xx refuse the event itself. */
function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/**
 * One HTTP POST of a JSON document with a timeout. Never throws: network
 * errors and timeouts are retryable outcomes; `cancel` (shutdown) aborts.
 */
export async function postJson(url: string, json: string, timeoutMs: number, cancel: AbortSignal): Promise<PostOutcome> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: json,
      signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), cancel]),
      redirect: 'error',
    });
    // Read the (ignored) answer so the connection goes back to the pool.
    await res.arrayBuffer().catch(() => undefined);
    if (res.ok) return { kind: 'ok' };
    const reason = `HTTP ${res.status}`;
    return isRetryableStatus(res.status) ? { kind: 'retry', reason } : { kind: 'reject', reason };
  } catch (err) {
    return { kind: 'retry', reason: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
}
