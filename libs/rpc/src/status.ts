// The one place that maps errors to gRPC status codes (style.md, errors at boundaries).
import * as grpc from '@grpc/grpc-js';
import { NoInstanceError } from './errors';

// Details travel as trailing metadata; the prefix keeps them apart from other trailers.
const DETAIL_PREFIX = 'tt-';
/** Trailing-metadata key carrying the catalogue code of an error answer (error-catalogue.ts); not a detail. */
export const ERROR_CODE_KEY = 'tt-error-code';
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Error for a server handler to pass to its callback (or `call.destroy`). */
export function rpcError(code: grpc.status, message: string, details?: Record<string, string>): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(details ?? {})) {
    // Header names allow [0-9a-z_.-] and values printable ASCII, so sanitise and URI-encode.
    metadata.set(DETAIL_PREFIX + k.toLowerCase().replace(/[^0-9a-z_.-]/g, '_'), encodeURIComponent(v));
  }
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${message}`), { code, details: message, metadata });
}

export function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && 'code' in err && typeof err.code === 'number' && 'details' in err && 'metadata' in err;
}

/** Status code of any error a call can produce; UNKNOWN when it carries none. */
export function errorCode(err: unknown): grpc.status {
  if (err instanceof NoInstanceError) return grpc.status.UNAVAILABLE;
  if (typeof err !== 'object' || err === null || !('code' in err)) return grpc.status.UNKNOWN;
  const { code } = err;
  if (typeof code === 'number' && code >= grpc.status.OK && code <= grpc.status.UNAUTHENTICATED && Number.isInteger(code)) return code;
  // Raw socket errors mean the peer is not reachable.
  if (typeof code === 'string' && CONNECTION_ERRNOS.has(code)) return grpc.status.UNAVAILABLE;
  return grpc.status.UNKNOWN;
}

/** True when the call never reached a working server: safe to try another instance. */
export function isUnavailable(err: unknown): boolean {
  return errorCode(err) === grpc.status.UNAVAILABLE;
}

/**
 * The peer or the link failed rather than the request: UNAVAILABLE, or
 * CANCELLED, which grpc-js reports when a dying server resets the stream
 * (forceShutdown, crash mid-connection). Only meaningful for calls the client
 * did not cancel itself.
 */
export function isConnectionFailure(err: unknown): boolean {
  const code = errorCode(err);
  return code === grpc.status.UNAVAILABLE || code === grpc.status.CANCELLED;
}

/** The details passed to rpcError on the server side. */
export function errorDetails(err: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isServiceError(err) || !err.metadata) return out;
  for (const [k, v] of Object.entries(err.metadata.getMap())) {
    if (k.startsWith(DETAIL_PREFIX) && k !== ERROR_CODE_KEY && typeof v === 'string') out[k.slice(DETAIL_PREFIX.length)] = decodeDetail(v);
  }
  return out;
}

function decodeDetail(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch (err) {
    // Not written by rpcError: hand back the raw value rather than lose it.
    if (err instanceof URIError) return v;
    throw err;
  }
}
