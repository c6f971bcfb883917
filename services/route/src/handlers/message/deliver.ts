import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tiertalk/log';
import { tiertalk, type DeliverReport, type EnvelopeBatch } from '@tiertalk/proto';
import type { Session } from '../../session-store';
import type { RouteDeps } from '../types';

// Batches read ahead of the one being delivered; past this the stream is
// paused so a fast gateway cannot grow our memory (style.md, backpressure).
const MAX_PENDING_BATCHES = 64;

/**
 * docs/ARCHITECTURE.md, 1:1 message path step 6: one registry pipeline per
 * batch, then one PushBatch per gateway that holds a receiver. Gateways
 * without a receiver hear nothing; offline users get the message by pull.
 */
export function deliverHandler(deps: RouteDeps): grpc.handleBidiStreamingCall<EnvelopeBatch, DeliverReport> {
  return (call) => {
    const log = deps.logger.child({ rpc: 'Deliver', peer: call.getPeer() });
    const pending: EnvelopeBatch[] = [];
    let running = false;
    let inputEnded = false;
    let closed = false;
    let paused = false;

    const pump = async (): Promise<void> => {
      if (running) return;
      running = true;
      try {
        for (let batch = pending.shift(); batch !== undefined && !closed; batch = pending.shift()) {
          if (paused && pending.length < MAX_PENDING_BATCHES / 2) {
            paused = false;
            call.resume();
          }
          const report = await deliverBatch(deps, batch, log);
          if (!closed) call.write(report);
        }
        if (inputEnded && !closed) {
          closed = true;
          call.end();
        }
      } finally {
        running = false;
      }
    };
    const kick = (): void => {
      pump().catch((err: unknown) => log.error({ err }, 'deliver stream failed'));
    };

    call.on('data', (batch: EnvelopeBatch) => {
      pending.push(batch);
      if (!paused && pending.length >= MAX_PENDING_BATCHES) {
        paused = true;
        call.pause();
      }
      kick();
    });
    call.on('end', () => {
      inputEnded = true;
      kick();
    });
    call.on('cancelled', () => {
      closed = true;
      pending.length = 0;
    });
    call.on('error', (err: Error) => {
      closed = true;
      pending.length = 0;
      log.debug({ err }, 'deliver stream error');
    });
  };
}

/** Never throws: a registry failure drops this batch's live pushes (receivers recover by offline pull). */
export async function deliverBatch({ store, links, offlinePush, registryReady }: RouteDeps, batch: EnvelopeBatch, log: Logger): Promise<DeliverReport> {
  await registryReady?.whenRegistryReady();
  const envelopes = batch.items ?? [];
  const users = new Set<number>();
  let broadcasts = 0;
  for (const env of envelopes) {
    if (env.broadcast) broadcasts += 1;
    else for (const id of env.toUserIds ?? []) if (id > 0) users.add(id);
  }
  if (users.size === 0 && broadcasts === 0) return tiertalk.DeliverReport.create({ envelopes: envelopes.length, pushes: 0 });

  let sessions = new Map<number, Session[]>();
  if (users.size > 0) {
    try {
      sessions = await store.lookup([...users]);
    } catch (err) {
      log.warn({ err, envelopes: envelopes.length, users: users.size }, 'session lookup failed; batch not pushed');
      return tiertalk.DeliverReport.create({ envelopes: envelopes.length, pushes: 0 });
    }
  }
  // flows.md §4 step 6: 1:1 receivers without a session get a mobile push (src/push), queued off this path.
  // A 1:1 envelope names exactly [to, from]; group fan-outs (one envelope with
  // every member, flows.md §10.2) are kept off the offline-push queue so a
  // group flood cannot crowd out 1:1 pushes (offline-push still checks msg_type).
  offlinePush?.offer(
    envelopes.filter((env) => (env.toUserIds?.length ?? 0) === 2),
    sessions,
  );

  const perGateway = new Map<string, tiertalk.Push.$Properties[]>();
  const queue = (gatewayId: string, push: tiertalk.Push.$Properties): void => {
    const list = perGateway.get(gatewayId);
    if (list) list.push(push);
    else perGateway.set(gatewayId, [push]);
  };
  for (const env of envelopes) {
    const clientClass = env.clientClass ?? 0;
    if (env.broadcast) {
      // TeamTalk's broadcasts (IMSignInfoChangedNotify, presence): every live
      // gateway, which sends to every logged-in connection (of the class).
      for (const gatewayId of links.liveGateways()) {
        const push: tiertalk.Push.$Properties = { commandId: env.commandId, body: env.body, allUsers: true };
        if (clientClass !== 0) push.clientClass = clientClass;
        if (gatewayId === env.originGatewayId && Object.hasOwn(env, 'originConnId')) push.excludeConnId = env.originConnId;
        queue(gatewayId, push);
      }
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
    for (const [gatewayId, userIds] of usersByGateway) {
      // body is passed through as received: the gateway encoded it once.
      const push: tiertalk.Push.$Properties = { commandId: env.commandId, body: env.body, userIds };
      if (clientClass !== 0) push.clientClass = clientClass;
      if (gatewayId === env.originGatewayId && Object.hasOwn(env, 'originConnId')) push.excludeConnId = env.originConnId;
      queue(gatewayId, push);
    }
  }

  let pushes = 0;
  for (const [gatewayId, items] of perGateway) if (links.send(gatewayId, items)) pushes += items.length;
  return tiertalk.DeliverReport.create({ envelopes: envelopes.length, pushes });
}
