import type * as grpc from '@grpc/grpc-js';
import { IM, tiertalk } from '@tiertalk/proto';
import type { ValidateBatch, ValidateRsp, ValidatedBatch } from '@tiertalk/proto';
import { BatchedCalls, callWithFailover } from '@tiertalk/rpc';
import type { InstancePool } from '@tiertalk/rpc';
import type { Logger } from '@tiertalk/log';
import { StoreLink } from '@tiertalk/message-store';
import type { DbProxyApi, StoreOutcome, StoreStats } from '../gateway-context';
import { validateProtocol } from './login-calls';
import { unaryCalls } from './unary-calls';

export interface DbProxyLinkOptions {
  /** Budget of one login check or unary call (forwarded requests) including failover. */
  deadlineMs: number;
  /** How long a stored item is retried before the sender is refused (TT_STORE_DEADLINE_MS). */
  storeDeadlineMs: number;
  /** A batch is written at this many items or on the next event-loop turn. */
  batchMax: number;
  logger: Logger;
  /** See StoreLinkOptions.stallMs. */
  stallMs?: number;
}

const FAILOVER_ATTEMPTS = 3;

/**
 * The gateway's side of db-proxy: login checks (batched on ValidateStream,
 * BatchedCalls), forwarded requests (unary, failover) and the message store
 * (StoreLink, libs/message-store, shared with http-api: batched on the
 * StoreMessages stream of the instance a conversation hashes to, retried under
 * one idempotency key until stored, refused or past its deadline).
 */
export class DbProxyLink implements DbProxyApi {
  private readonly log: Logger;
  private readonly messages: StoreLink;
  private readonly validations: BatchedCalls<IM.Server.IMValidateReq.$Properties, ValidateRsp, ValidateBatch, ValidatedBatch, tiertalk.ValidatedItem>;

  constructor(
    private readonly pool: InstancePool,
    private readonly opts: DbProxyLinkOptions,
  ) {
    this.log = opts.logger.child({ component: 'db-proxy-link' });
    this.messages = new StoreLink(pool, { storeDeadlineMs: opts.storeDeadlineMs, batchMax: opts.batchMax, logger: opts.logger, stallMs: opts.stallMs });
    this.validations = new BatchedCalls(pool, validateProtocol, { deadlineMs: opts.deadlineMs, attempts: FAILOVER_ATTEMPTS, batchMax: opts.batchMax, logger: this.log });
  }

  hasInstance(): boolean {
    return this.pool.size > 0;
  }

  /** Items handed to store() and not yet answered. */
  get inFlight(): number {
    return this.messages.inFlight;
  }

  /** Store batches held until a db-proxy that is not reading drains its stream. */
  get batchesAwaitingDrain(): number {
    return this.messages.batchesAwaitingDrain;
  }

  /** Counters since start (logged with every refusal). */
  get stats(): Readonly<StoreStats> {
    return this.messages.stats;
  }

  /** A login's check, batched with the other logins of this turn on ValidateStream (login-calls.ts). */
  validate(req: IM.Server.IMValidateReq.$Properties): Promise<ValidateRsp> {
    return this.validations.call(req);
  }

  /** Any unary DbProxy method (a forwarded client request), with failover and a deadline. */
  call<Req, Res>(method: grpc.MethodDefinition<Req, Res>, req: Req): Promise<Res> {
    return unaryCalls.track(callWithFailover(this.pool, method, req, { deadlineMs: this.opts.deadlineMs, attempts: FAILOVER_ATTEMPTS }));
  }

  store(msg: IM.Message.IMMsgData.$Properties, idemKey: string): Promise<StoreOutcome> {
    return this.messages.store(msg, idemKey);
  }

  /** Resolves true once nothing is in flight, false after timeoutMs (shutdown: let ACKs out). */
  waitIdle(timeoutMs: number): Promise<boolean> {
    return this.messages.waitIdle(timeoutMs);
  }

  /** Refuses whatever is left (the senders get their answer) and ends every stream. */
  close(): void {
    this.validations.close();
    this.messages.close();
  }
}
