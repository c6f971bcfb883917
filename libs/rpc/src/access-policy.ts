import * as grpc from '@grpc/grpc-js';
import { serviceNameOf } from './tls/service-identity';

/** Names tier certificates carry (libs/tls dev PKI; an operator's CA issues the same names). */
export type CallerName = 'db-proxy' | 'route' | 'msg' | 'login' | 'admin' | 'push' | 'http-api';

/** Which callers may call one gRPC service's methods, by full method path. */
export interface AccessPolicy {
  readonly service: string;
  allowed(path: string): ReadonlySet<string> | undefined;
}

/**
 * One service's table: every method of the definition must be listed (a new
 * RPC does not compile until someone decides who may call it), and a method
 * with an empty list is callable by nobody.
 */
export function accessPolicy<S extends grpc.ServiceDefinition>(
  service: string,
  definition: S,
  rules: { readonly [M in keyof S]: readonly CallerName[] },
): AccessPolicy {
  const byPath = new Map<string, ReadonlySet<string>>();
  for (const [name, method] of Object.entries(definition)) {
    const callers = rules[name as keyof S];
    if (callers === undefined) throw new Error(`${service}: no access rule for ${name}`);
    byPath.set(method.path, new Set(callers));
  }
  return { service, allowed: (path) => byPath.get(path) };
}

/** Why a call is refused; the reason is also the refusal's metric label. */
export type AccessVerdict =
  | { ok: true; caller: string }
  | { ok: false; code: grpc.status; reason: 'grpc_unauthenticated' | 'grpc_not_allowed'; caller: string | undefined; details: string };

/** Decides one call from the caller's verified certificate (auth context) and the policy. */
export function decideAccess(policies: readonly AccessPolicy[], path: string, auth: ReturnType<grpc.ServerInterceptingCallInterface['getAuthContext']>): AccessVerdict {
  // grpc-js fills sslPeerCertificate only for a peer whose certificate the CA verified.
  const caller = auth.transportSecurityType === 'ssl' ? serviceNameOf(auth.sslPeerCertificate) : undefined;
  if (caller === undefined) {
    return { ok: false, code: grpc.status.UNAUTHENTICATED, reason: 'grpc_unauthenticated', caller, details: 'a client certificate signed by the cluster CA and naming a service is required' };
  }
  for (const p of policies) {
    const allowed = p.allowed(path);
    if (allowed === undefined) continue;
    if (allowed.has(caller)) return { ok: true, caller };
    return { ok: false, code: grpc.status.PERMISSION_DENIED, reason: 'grpc_not_allowed', caller, details: `"${caller}" may not call ${path}` };
  }
  return { ok: false, code: grpc.status.PERMISSION_DENIED, reason: 'grpc_not_allowed', caller, details: `no access rule for ${path}` };
}

/** Where refused calls are counted and logged (RefusalLog from @tiertalk/metrics fits). */
export interface RefusalSink {
  refuse(reason: string, offender: string, detail?: Record<string, unknown>): void;
}

/**
 * A server interceptor that lets a call reach its handler only when the
 * caller's certificate names a service the policy allows for that method.
 * Checked once per call (a stream is checked when it opens), before any
 * request message is read.
 */
export function accessInterceptor(policies: readonly AccessPolicy[], refusals: RefusalSink): grpc.ServerInterceptor {
  return (method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, pass) => {
            const verdict = decideAccess(policies, method.path, call.getAuthContext());
            if (verdict.ok) {
              pass(metadata);
              return;
            }
            // Offender: the certificate's name, else the peer's address without its (ever new) port.
            const peer = call.getPeer().replace(/:\d+$/, '');
            refusals.refuse(verdict.reason, verdict.caller ?? peer, { method: method.path, caller: verdict.caller ?? null, peer });
            call.sendStatus({ code: verdict.code, details: verdict.details, metadata: new grpc.Metadata() });
          },
        });
      },
    });
}
