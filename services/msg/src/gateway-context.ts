import type * as grpc from '@grpc/grpc-js';
import type { IM, tiertalk, SessionLoginRsp, ValidateRsp } from '@tiertalk/proto';
import type { Logger } from '@tiertalk/log';
import type { RefusalLog } from '@tiertalk/metrics';
import type { MsgConfig } from './config';
import type { ConnectionRegistry } from './conn/connection-registry';
import type { StoreOutcome } from '@tiertalk/message-store';

/**
 * How a store ended. STORE_OK: stored, msgId set. STORE_REJECTED: db-proxy
 * refused the message for what it is (final). STORE_FAILED: not stored within
 * the store deadline, or the gateway is stopping. The sender is refused unless OK.
 * Defined with the shared store link (libs/message-store).
 */
export type { StoreOutcome, StoreStats } from '@tiertalk/message-store';

/** What handlers need from db-proxy (src/upstream/db-proxy-link.ts). */
export interface DbProxyApi {
  /** A live db-proxy instance is known (docs/FLOWS.md §2 precondition, result 3). */
  hasInstance(): boolean;
  validate(req: IM.Server.IMValidateReq.$Properties): Promise<ValidateRsp>;
  /**
   * Stores one message, retried under the same idempotency key until stored,
   * rejected or past the store deadline. Never rejects.
   */
  store(msg: IM.Message.IMMsgData.$Properties, idemKey: string): Promise<StoreOutcome>;
  /** A unary DbProxy method (forwarded client requests); rejects when no instance answers. */
  call<Req, Res>(method: grpc.MethodDefinition<Req, Res>, req: Req): Promise<Res>;
}

/** What handlers need from route (src/upstream/route-link.ts). */
export interface RouteApi {
  /** A live route instance is known (docs/FLOWS.md §2 precondition, result 5). */
  hasInstance(): boolean;
  login(ref: tiertalk.SessionRef.$Properties): Promise<SessionLoginRsp>;
  logout(ref: tiertalk.SessionRef.$Properties): Promise<void>;
  /**
   * Hands the envelope to route; kept and resent until route reports it
   * delivered. `onHeld` (once) when a route instance has received it, or
   * after the hold wait when none can take it (the message is stored either
   * way; the sender's ACK waits for this, see message/msg-data.ts).
   */
  deliver(envelope: tiertalk.Envelope.$Properties, onHeld?: () => void): void;
  /** A unary Route method; rejects when no instance answers. */
  call<Req, Res>(method: grpc.MethodDefinition<Req, Res>, req: Req): Promise<Res>;
}

/** The live file servers (src/upstream/file-servers.ts). */
export interface FileServersApi {
  /** Client-facing addresses handed out in IMFileNotify / IMFileHasOfflineRsp. */
  addresses(): IM.BaseDefine.IpAddr.$Properties[];
  /** A transfer task from one live file server; undefined when none runs. Rejects when it does not answer. */
  transfer(req: IM.Server.IMFileTransferReq.$Properties): Promise<{ rsp: IM.Server.IMFileTransferRsp; address: IM.BaseDefine.IpAddr.$Properties[] } | undefined>;
}

/** Receives "the number of logged-in connections changed" (src/load-reporter.ts). */
export interface LoadSink {
  changed(): void;
}

/** Everything a handler may touch, built once in main.ts. */
export interface GatewayContext {
  readonly gatewayId: string;
  readonly config: MsgConfig;
  readonly log: Logger;
  readonly connections: ConnectionRegistry;
  readonly db: DbProxyApi;
  readonly route: RouteApi;
  readonly fileServers: FileServersApi;
  readonly load: LoadSink;
  /** Refused frames, requests and connections: counted, logged once per offender per interval. */
  readonly refusals: RefusalLog;
  /** Set when shutdown starts. */
  readonly lifecycle: { stopping: boolean };
}
