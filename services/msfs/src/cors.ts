// Cross-origin access for browser clients (docs/MSFS.md "Browsers"): the web client's page
// comes from login's web port, another origin than msfs. An upload with progress events
// (XMLHttpRequest.upload listeners) is preflighted with OPTIONS; the answer is only readable
// to the page when it carries Access-Control-Allow-Origin.
import type http from 'node:http';

/** `*` or origins as browsers send them (`scheme://host[:port]`), from TT_MSFS_CORS_ORIGINS. */
export class CorsPolicy {
  private readonly any: boolean;
  private readonly origins: ReadonlySet<string>;

  constructor(allowed: readonly string[]) {
    this.any = allowed.includes('*');
    this.origins = new Set(allowed.filter((o) => o !== '*').map((o) => o.toLowerCase()));
  }

  /**
   * Headers that let the requesting page read this answer (none when it may not, or no page asked),
   * plus `Vary: Origin` whenever CORS is on: the same path is answered differently per Origin, and
   * downloads are cacheable, so a cache must not hand one page's answer to another.
   */
  headers(req: http.IncomingMessage): Record<string, string> {
    if (!this.any && this.origins.size === 0) return {};
    const origin = req.headers.origin;
    if (origin === undefined || !(this.any || this.origins.has(origin.toLowerCase()))) return { Vary: 'Origin' };
    return { 'Access-Control-Allow-Origin': this.any ? '*' : origin, 'Access-Control-Expose-Headers': 'Retry-After', Vary: 'Origin' };
  }

  /** Whether a preflight from this origin for this method may go ahead. */
  allowsPreflight(req: http.IncomingMessage): boolean {
    const origin = req.headers.origin;
    const method = String(req.headers['access-control-request-method'] ?? '').toUpperCase();
    if (origin === undefined || !PREFLIGHT_METHODS.has(method)) return false;
    return this.any || this.origins.has(origin.toLowerCase());
  }
}

const PREFLIGHT_METHODS = new Set(['POST', 'GET', 'HEAD']);
// A browser caches the preflight for this long (Chromium caps it at 2 hours).
const PREFLIGHT_MAX_AGE_SEC = 600;

/** Is this an OPTIONS preflight (not just any OPTIONS request)? */
export function isPreflight(req: http.IncomingMessage): boolean {
  return req.method === 'OPTIONS' && req.headers.origin !== undefined && req.headers['access-control-request-method'] !== undefined;
}

/** 204 with what the page may send: POST (uploads) and GET/HEAD, with a Content-Type header. */
export function preflightHeaders(policy: CorsPolicy, req: http.IncomingMessage): Record<string, string> {
  return {
    ...policy.headers(req),
    'Access-Control-Allow-Methods': 'POST, GET, HEAD',
    'Access-Control-Allow-Headers': 'Content-Type',
    'Access-Control-Max-Age': String(PREFLIGHT_MAX_AGE_SEC),
  };
}

/** A valid TT_MSFS_CORS_ORIGINS entry: `*`, or an origin exactly as a browser sends it (no path, no default port). */
export function isCorsOrigin(entry: string): boolean {
  if (entry === '*') return true;
  try {
    const u = new URL(entry);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === entry;
  } catch {
    return false;
  }
}
