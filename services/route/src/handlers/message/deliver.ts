import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tiertalk/log';
import { tiertalk, type DeliverReport, type EnvelopeBatch } from '@tiertalk/proto';
import { ReconnectBackoff, serviceErrorOf } from '@tiertalk/rpc';
import { RegistryEpochMismatch } from '../../session-store';
import type { Session } from '../../session-store';
import type { RouteDeps } from '../types';
import { envelopesRouted } from '../../route-metrics';
import { DeliveryReceipt } from './delivery-receipt';
import { withMessageFields } from './older-gateway-envelope';

const { MESSAGE_KIND_OTHER } = tiertalk.MessageKind;
const { CLIENT_CLASS_ANY } = tiertalk.ClientClass;

// Envelopes read and not yet reported on one stream (routed and awaiting the
// gateways' acks, or waiting to be routed); past this the stream is paused so
// a fast gateway, or a gateway that stopped acknowledging, cannot grow our
// memory (style.md, backpressure). About a second of traffic at full rate, so
// deliveries to healthy gateways go on while a dead one's lease runs out. At
// moderate load a batch holds one or two envelopes, so the batch bound must
// cover a dead gateway's lease plus the watchers' removal grace (~8 s) too:
// a paused stream sends no `received`, and its senders' ACKs would wait.
const MAX_UNREPORTED_ENVELOPES = 20_000;
const MAX_UNREPORTED_BATCHES = 16_384;

/** The session registry could not be read: nothing of the batch was pushed, it can be routed again. */
export class SessionLookupError extends Error {
  constructor(readonly lookupError: unknown) {
    super('session lookup failed');
  }
}

/**
 * docs/ARCHITECTURE.md, 1:1 message path step 6: one registry pipeline per
 * batch, then one PushBatch per gateway that holds a receiver. Gateways
 * without a receiver hear nothing; offline users get the message by pull.
 *
 * A batch is reported (DeliverReport, in stream order: a report of n covers
 * the n oldest envelopes) only once every PushBatch made from it was
 * acknowledged by its gateway or dropped because that gateway left etcd. So
 * whatever this process dies holding, the origin gateway still has it and
 * sends it again to another route (docs/RELIABILITY.md). A registry failure
 * is retried with backoff; the batch is never reported unrouted.
 */
export function deliverHandler(deps: RouteDeps): grpc.handleBidiStreamingCall<EnvelopeBatch, DeliverReport> {
  return (call) => {
    const log = deps.logger.child({ rpc: 'Deliver', peer: call.getPeer() });
    const unrouted: EnvelopeBatch[] = [];
    const unreported: DeliveryReceipt[] = [];
    let unreportedEnvelopes = 0;
    const lookupBackoff = new ReconnectBackoff();
    let running = false;
    let inputEnded = false;
    let closed = false;
    let paused = false;

    const full = (): boolean =>
      unreportedEnvelopes >= MAX_UNREPORTED_ENVELOPES || unrouted.length + unreported.length >= MAX_UNREPORTED_BATCHES;
    const maybeEnd = (): void => {
      if (!inputEnded || closed || running || unrouted.length > 0 || unreported.length > 0) return;
      closed = true;
      call.end();
    };
    const writeReports = (): void => {
      while (unreported.length > 0 && unreported[0].settled) {
        const receipt = unreported.shift() as DeliveryReceipt;
        unreportedEnvelopes -= receipt.report.envelopes;
        if (!closed) call.write(receipt.report);
      }
      if (paused && !closed && unreportedEnvelopes < MAX_UNREPORTED_ENVELOPES / 2 && unrouted.length + unreported.length < MAX_UNREPORTED_BATCHES / 2) {
        paused = false;
        call.resume();
      }
      maybeEnd();
    };

    const pump = async (): Promise<void> => {
      if (running) return;
      running = true;
      try {
        // Not `!closed`: what we said we received is routed even if its gateway is gone (it ACKed the senders).
        while (unrouted.length > 0) {
          const receipt = new DeliveryReceipt(writeReports);
          try {
            receipt.report = await deliverBatch(deps, unrouted[0], log, receipt);
          } catch (err) {
            if (!(err instanceof SessionLookupError)) throw err;
            const delayMs = lookupBackoff.next();
            log.warn({ err: err.lookupError, retryInMs: delayMs, envelopes: unrouted[0].items.length }, 'session lookup failed; batch held and routed again');
            await new Promise((resolve) => setTimeout(resolve, delayMs));
            continue;
          }
          lookupBackoff.reset();
          unrouted.shift();
          unreported.push(receipt);
          receipt.seal();
        }
      } finally {
        running = false;
      }
      maybeEnd();
    };
    const kick = (): void => {
      pump().catch((err: unknown) => {
        // Not retried here (it failed for what it is); the origin gateway resends it with the rest.
        const dropped = unrouted.shift();
        log.error({ err, envelopes: dropped?.items.length }, 'deliver stream failed');
        // Fail the stream: its unreported envelopes go again from the origin gateway to another route.
        call.emit('error', serviceErrorOf('internal', 'deliver failed'));
      });
    };

    call.on('data', (batch: EnvelopeBatch) => {
      // We hold these now (the origin gateway may ACK their senders); the report of what they became follows.
      if (!closed) call.write(tiertalk.DeliverReport.create({ envelopes: 0, pushes: 0, received: batch.items.length }));
      unrouted.push(batch);
      unreportedEnvelopes += batch.items.length;
      if (!paused && full()) {
        paused = true;
        call.pause();
      }
      kick();
    });
    call.on('end', () => {
      inputEnded = true;
      kick();
      maybeEnd();
    });
    // The origin gateway is gone (killed, or its link cut): nobody to report to,
    // but the batches received are still routed — their senders were ACKed on
    // the strength of our `received`, and their origin can no longer resend them.
    const stop = (): void => {
      if (closed) return;
      closed = true;
      unreported.length = 0;
      if (unrouted.length > 0) kick();
    };
    call.on('cancelled', stop);
    call.on('error', (err: Error) => {
      stop();
      log.debug({ err }, 'deliver stream error');
    });
  };
}

/**
 * Routes one batch: looks its receivers up and queues one PushBatch per
 * gateway, each registered on `receipt` (when given) so the caller learns when
 * all were acknowledged. Rejects with SessionLookupError, having sent nothing,
 * when the registry cannot be read. Waits first while route rebuilds a lost
 * registry, so receivers are not looked up in an empty one.
 */
export async function deliverBatch(
  { store, links, offlinePush, pushService, registryReady }: RouteDeps,
  batch: EnvelopeBatch,
  log: Logger,
  receipt?: DeliveryReceipt,
): Promise<DeliverReport> {
  await registryReady?.whenRegistryReady();
  const envelopes = (batch.items ?? []).map(withMessageFields);
  const users = new Set<number>();
  let broadcasts = 0;
  for (const env of envelopes) {
    if (env.allUsers) broadcasts += 1;
    else for (const id of env.toUserIds ?? []) if (id > 0) users.add(id);
  }
  if (users.size === 0 && broadcasts === 0) return tiertalk.DeliverReport.create({ envelopes: envelopes.length, pushes: 0 });

  let sessions = new Map<number, Session[]>();
  if (users.size > 0) {
    const holdsBefore = registryReady?.holds;
    try {
      sessions = await store.lookup([...users], registryReady?.epoch);
    } catch (err) {
      // Flushed or replaced while up (no disconnect for the epoch watch to see).
      if (err instanceof RegistryEpochMismatch) registryReady?.recheck();
      log.debug({ err, envelopes: envelopes.length, users: users.size }, 'session lookup failed');
      throw new SessionLookupError(err);
    }
    // Redis dropped or lost the registry while we read it (e.g. a lookup queued
    // during an outage ran against the empty restarted Redis): read it again.
    if (registryReady !== undefined && registryReady.holds !== holdsBefore) {
      throw new SessionLookupError(new Error('session registry was lost or reconnected during the lookup'));
    }
  }
  // docs/FLOWS.md §4 step 4.6: 1:1 receivers without a session get a mobile push (src/push), queued off this path.
  // It takes envelopes of kind MESSAGE_KIND_SINGLE only: group fan-outs (one envelope with every member,
  // docs/FLOWS.md §10.2) stay off its queue so a group flood cannot crowd out 1:1 pushes.
  offlinePush?.offer(envelopes, sessions);
  // The push service (services/push): 1:1 and group messages alike; it applies the shields and picks providers.
  pushService?.offer(envelopes, sessions);

  const perGateway = new Map<string, tiertalk.Push.$Properties[]>();
  const queue = (gatewayId: string, push: tiertalk.Push.$Properties): void => {
    const list = perGateway.get(gatewayId);
    if (list) list.push(push);
    else perGateway.set(gatewayId, [push]);
  };
  for (const env of envelopes) {
    if (env.allUsers) {
      // TeamTalk's broadcasts (IMSignInfoChangedNotify, presence): every live
      // gateway, which sends to every logged-in connection (of the class).
      for (const gatewayId of links.liveGateways()) queue(gatewayId, pushOf(env, gatewayId, undefined));
      continue;
    }
    const usersByGateway = new Map<string, number[]>();
    for (const userId of new Set(env.toUserIds ?? [])) {
      for (const s of sessions.get(userId) ?? []) {
        const list = usersByGateway.get(s.gatewayId);
        if (!list) usersByGateway.set(s.gatewayId, [userId]);
        else if (list[list.length - 1] !== userId) list.push(userId);
      }
    }
    for (const [gatewayId, toUserIds] of usersByGateway) queue(gatewayId, pushOf(env, gatewayId, toUserIds));
  }

  if (broadcasts > 0) envelopesRouted.inc({ kind: 'broadcast' }, broadcasts);
  envelopesRouted.inc({ kind: 'direct' }, envelopes.length - broadcasts);
  let pushes = 0;
  for (const [gatewayId, items] of perGateway) {
    receipt?.expect();
    if (links.send(gatewayId, items, receipt)) pushes += items.length;
    else receipt?.batchDone();
  }
  return tiertalk.DeliverReport.create({ envelopes: envelopes.length, pushes });
}

/**
 * The push made of `env` for `gatewayId` (its receivers there, or none for a
 * broadcast): the body as received (the origin gateway encoded it once), the
 * envelope's fields under the same names, the origin connection only on its
 * own gateway. Fields that do not apply are undefined, which the encoder
 * skips, and every push is built by this one literal: pushes of one shape keep
 * Push.encode monomorphic (optional fields added one by one made shapes that
 * varied per push, and encoding took 5x the CPU of all of route's routing).
 */
function pushOf(env: tiertalk.Envelope.$Properties, gatewayId: string, toUserIds: number[] | undefined): tiertalk.Push.$Properties {
  const isMessage = (env.kind ?? MESSAGE_KIND_OTHER) !== MESSAGE_KIND_OTHER;
  return {
    commandId: env.commandId,
    body: env.body,
    toUserIds,
    allUsers: toUserIds === undefined ? true : undefined,
    clientClass: (env.clientClass ?? CLIENT_CLASS_ANY) !== CLIENT_CLASS_ANY ? env.clientClass : undefined,
    originConnId: gatewayId === env.originGatewayId && Object.hasOwn(env, 'originConnId') ? env.originConnId : undefined,
    // Every receiving gateway, not only the origin's: the sender's other devices and the peer's alike.
    fromClientClass: (env.fromClientClass ?? CLIENT_CLASS_ANY) !== CLIENT_CLASS_ANY ? env.fromClientClass : undefined,
    kind: isMessage ? env.kind : undefined,
    msgId: isMessage ? env.msgId : undefined,
    fromUserId: isMessage ? env.fromUserId : undefined,
    toSessionId: isMessage ? env.toSessionId : undefined,
  };
}
