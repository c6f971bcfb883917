// Hostile frames for the gateway: a handled command id with a hostile body of
// its request type, or a command id nobody handles, under any service id and seq.
import fc from 'fast-check';
import type protobuf from 'protobufjs';
import { serviceIdOf } from '@tiertalk/proto';
import { hostileBody } from './hostile-bodies';
import type { BodyKind, IdPools } from './hostile-bodies';

export interface FuzzFrame {
  serviceId: number;
  commandId: number;
  seqNum: number;
  kind: BodyKind | 'unknown-command';
  body: Uint8Array;
}

const u16 = fc.integer({ min: 0, max: 0xffff });

/** Frames over `handled` (command id → request type), plus unknown command ids. */
export function fuzzFrames(handled: ReadonlyMap<number, protobuf.Type>, ids: IdPools): fc.Arbitrary<FuzzFrame> {
  const perCommand = [...handled].map(([cid, type]) =>
    fc.record({
      serviceId: fc.oneof({ weight: 9, arbitrary: fc.constant(serviceIdOf(cid)) }, { weight: 1, arbitrary: u16 }),
      commandId: fc.constant(cid),
      seqNum: u16,
      hostile: hostileBody(type, ids),
    }),
  );
  const known = fc.oneof(...perCommand).map(({ hostile, ...f }): FuzzFrame => ({ ...f, kind: hostile.kind, body: hostile.body }));
  const unknown = fc
    .record({ serviceId: u16, commandId: u16.filter((c) => !handled.has(c)), seqNum: u16, body: fc.uint8Array({ maxLength: 256 }) })
    .map((f): FuzzFrame => ({ ...f, kind: 'unknown-command' }));
  return fc.oneof({ weight: 9, arbitrary: known }, { weight: 1, arbitrary: unknown });
}
