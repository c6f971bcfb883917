// fast-check arbitraries of hostile TeamTalk PDU bodies, derived from the
// .proto schema by reflection (protobufjs): well-typed messages with hostile
// values, mutated encodings, wire-level garbage with the message's own field
// numbers, and plain random bytes.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { IM } from '@tiertalk/proto';
import { repoRoot } from '@tiertalk/testkit';

/** Real ids worth aiming at: other users, groups that exist. */
export interface IdPools {
  users: readonly number[];
  groups: readonly number[];
}

/** Bodies stay under the gateway's 1 MiB frame cap, so a hostile body is decoded rather than cutting the connection. */
export const MAX_BODY_BYTES = 1024 * 1024 - 1024;
const MAX_DEPTH = 2;

/** The TeamTalk client schema (proto/*.proto), field names camelCased like the generated code. */
export function loadClientSchema(): protobuf.Root {
  const dir = path.join(repoRoot, 'proto');
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(dir, path.basename(target));
  root.loadSync(readdirSync(dir).filter((f) => f.endsWith('.proto')));
  root.resolveAll();
  return root;
}

/**
 * The schema type whose generated class owns `decode` (handlers are built from
 * `IM.<Pkg>.<Msg>.decode`), so the fuzzer covers whatever the dispatcher holds.
 */
export function typeOfDecoder(root: protobuf.Root, decode: unknown): protobuf.Type | undefined {
  for (const [pkg, ns] of Object.entries(IM) as Array<[string, Record<string, unknown>]>) {
    for (const [name, cls] of Object.entries(ns)) {
      if (typeof cls === 'function' && (cls as { decode?: unknown }).decode === decode) return root.lookupType(`IM.${pkg}.${name}`);
    }
  }
  return undefined;
}

const U32_EDGES = [0, 1, 2, 0x7f, 0x80, 0xffff, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff];
const I32_EDGES = [0, -1, 1, -0x8000_0000, 0x7fff_ffff];
const HOSTILE_STRINGS = [
  '',
  ' ',
  'alice   ',
  "x' OR '1'='1",
  "\\'; DROP TABLE IMUser; -- ",
  '\\',
  '\u0000\u0001\u0002',
  '%s%s%n',
  '${jndi:ldap://127.0.0.1/x}',
  '<script>alert(1)</script>',
  '\u202e\ud83d\ude00\ufeff',
  '\ud800',
];

function u32(ids: IdPools): fc.Arbitrary<number> {
  const real = [...ids.users, ...ids.groups];
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...U32_EDGES) },
    { weight: 3, arbitrary: real.length > 0 ? fc.constantFrom(...real) : fc.constant(1) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff_ffff }) },
    { weight: 1, arbitrary: fc.nat(64) },
  );
}

const i32 = fc.oneof(fc.constantFrom(...I32_EDGES), fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }));
const i64 = fc.oneof(fc.constantFrom(0, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER), fc.maxSafeInteger());
const u64 = fc.oneof(fc.constantFrom(0, Number.MAX_SAFE_INTEGER), fc.maxSafeNat());

const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 3, arbitrary: fc.string({ maxLength: 40, unit: 'binary' }) },
  // Long strings: past every column length, and past a few KiB (pre-login limits).
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 256, max: 300_000 }), fc.constantFrom('A', 'é', '😀', "'")).map(([n, c]) => c.repeat(n)) },
);

const hostileBytes = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1024, max: 400_000 }), fc.integer({ min: 0, max: 255 })).map(([n, b]) => new Uint8Array(n).fill(b)) },
);

function enumValue(e: protobuf.Enum): fc.Arbitrary<number> {
  const known = Object.values(e.values);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...known) },
    { weight: 2, arbitrary: fc.constantFrom(-1, 0, 9999, 0x7fff_ffff, -0x8000_0000) },
    { weight: 1, arbitrary: i32 },
  );
}

function scalar(type: string, ids: IdPools): fc.Arbitrary<unknown> {
  switch (type) {
    case 'uint32':
    case 'fixed32':
      return u32(ids);
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return i32;
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return i64;
    case 'uint64':
    case 'fixed64':
      return u64;
    case 'bool':
      return fc.boolean();
    case 'float':
    case 'double':
      return fc.double();
    case 'string':
      return hostileString;
    case 'bytes':
      return hostileBytes;
    default:
      throw new Error(`no arbitrary for scalar type ${type}`);
  }
}

function fieldValue(field: protobuf.Field, ids: IdPools, depth: number): fc.Arbitrary<unknown> {
  const t = field.resolvedType;
  if (t instanceof protobuf.Enum) return enumValue(t);
  if (t instanceof protobuf.Type) return hostileMessage(t, ids, depth + 1);
  return scalar(field.type, ids);
}

function repeated(elem: fc.Arbitrary<unknown>, isMessage: boolean): fc.Arbitrary<unknown[]> {
  // Enormous lists: the same element many times (cheap to generate, large on the wire).
  const most = isMessage ? 3_000 : 60_000;
  return fc.oneof(
    { weight: 4, arbitrary: fc.array(elem, { maxLength: 6 }) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 200, max: most }), elem).map(([n, v]) => new Array<unknown>(n).fill(v)) },
  );
}

const messageCache = new Map<string, fc.Arbitrary<Record<string, unknown>>>();

/** A plain object of `type` with every required field set (so it decodes) and hostile values throughout. */
export function hostileMessage(type: protobuf.Type, ids: IdPools, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const key = `${type.fullName}@${depth}`;
  const cached = messageCache.get(key);
  if (cached) return cached;
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  const required: string[] = [];
  for (const field of type.fieldsArray) {
    const isMessage = field.resolvedType instanceof protobuf.Type;
    // Deep enough: leave optional sub-messages out, keep required ones minimal.
    if (isMessage && depth >= MAX_DEPTH && !field.required) continue;
    const value = isMessage && depth >= MAX_DEPTH ? fc.constant({}) : fieldValue(field, ids, depth);
    fields[field.name] = field.repeated ? repeated(value, isMessage) : value;
    if (field.required) required.push(field.name);
  }
  const arb = fc.record(fields, { requiredKeys: required as never[] }) as fc.Arbitrary<Record<string, unknown>>;
  messageCache.set(key, arb);
  return arb;
}

function encode(type: protobuf.Type, value: Record<string, unknown>): Uint8Array {
  try {
    return type.encode(value).finish();
  } catch {
    // A value the encoder cannot write (e.g. a required sub-message left empty at depth): send nothing.
    return new Uint8Array(0);
  }
}

type Mutation = { kind: 'flip' | 'insert' | 'truncate' | 'duplicate'; at: number; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('flip', 'insert', 'truncate', 'duplicate'),
  at: fc.nat(),
  bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }),
});

function mutate(body: Uint8Array, m: Mutation): Uint8Array {
  const b = Buffer.from(body);
  if (b.length === 0) return m.bytes;
  const at = m.at % b.length;
  switch (m.kind) {
    case 'flip':
      b.set(m.bytes.subarray(0, Math.min(m.bytes.length, b.length - at)), at);
      return b;
    case 'insert':
      return Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
    case 'truncate':
      return b.subarray(0, at);
    case 'duplicate':
      return Buffer.concat([b.subarray(0, at), b.subarray(at), b.subarray(at)]);
  }
}

interface WireField {
  id: number;
  wireType: number;
  varint: number;
  bytes: Uint8Array;
}

/** Fields written with any wire type (also invalid ones 3-7), negative 64-bit varints, and strangers' field numbers. */
function wireGarbage(type: protobuf.Type): fc.Arbitrary<Uint8Array> {
  const ids = type.fieldsArray.map((f) => f.id);
  const field: fc.Arbitrary<WireField> = fc.record({
    id: fc.oneof(ids.length > 0 ? fc.constantFrom(...ids) : fc.constant(1), fc.integer({ min: 1, max: 0x1fff_ffff })),
    wireType: fc.integer({ min: 0, max: 7 }),
    varint: fc.oneof(i64, fc.constantFrom(-1, 0xffff_ffff, 2 ** 32)),
    bytes: hostileBytes,
  });
  return fc.array(field, { maxLength: 8 }).map((fs) => {
    const w = protobuf.Writer.create();
    for (const f of fs) {
      w.uint32((f.id * 8 + f.wireType) >>> 0);
      if (f.wireType === 0) w.int64(f.varint);
      else if (f.wireType === 1) w.fixed64(Math.abs(f.varint));
      else if (f.wireType === 2) w.bytes(f.bytes);
      else if (f.wireType === 5) w.fixed32(f.varint >>> 0);
      // 3, 4 (groups) and 6, 7 (invalid): the tag alone.
    }
    return w.finish();
  });
}

/** 100k nested start-group tags: a recursive skipper would overflow its stack. */
const DEEP_GROUPS = new Uint8Array(100_000).fill(0x0b);

export type BodyKind = 'typed' | 'mutated' | 'wire' | 'random' | 'empty' | 'deep';

export interface HostileBody {
  kind: BodyKind;
  body: Uint8Array;
}

/** Every kind of hostile body for one request type. */
export function hostileBody(type: protobuf.Type, ids: IdPools): fc.Arbitrary<HostileBody> {
  const typed = hostileMessage(type, ids).map((v) => encode(type, v));
  const capped = (kind: BodyKind) => (body: Uint8Array): HostileBody => ({ kind, body: body.length > MAX_BODY_BYTES ? body.subarray(0, MAX_BODY_BYTES) : body });
  return fc.oneof(
    { weight: 6, arbitrary: typed.map(capped('typed')) },
    { weight: 3, arbitrary: fc.tuple(typed, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([b, ms]) => ms.reduce(mutate, b)).map(capped('mutated')) },
    { weight: 2, arbitrary: wireGarbage(type).map(capped('wire')) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map(capped('random')) },
    { weight: 1, arbitrary: fc.constant(new Uint8Array(0)).map(capped('empty')) },
    { weight: 1, arbitrary: fc.constant(DEEP_GROUPS).map(capped('deep')) },
  );
}
