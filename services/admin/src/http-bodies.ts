// The HTTP API's request bodies and query values, checked with zod before any
// call: a bad one is a 400 naming the field.
import { z } from 'zod';
import { OpsError } from '@tiertalk/cluster-ops';

const MAX_UINT32 = 0xffffffff;
const id = z.number().int().min(1).max(MAX_UINT32);
const memberOrAll = z.union([id, z.literal('all')]).transform((v) => (v === 'all' ? 0 : v));

export const createUserBody = z.strictObject({
  name: z.string().min(1).max(32),
  password: z.string().min(1).max(128),
  departId: id,
  nick: z.string().max(32).optional(),
  sex: z.number().int().min(0).max(2).optional(),
  email: z.string().max(64).optional(),
  phone: z.string().max(11).optional(),
  avatar: z.string().max(255).optional(),
  domain: z.string().max(32).optional(),
});
export const passwordBody = z.strictObject({ password: z.string().min(1).max(128) });
export const departIdBody = z.strictObject({ departId: id });
export const createDepartBody = z.strictObject({ name: z.string().min(1).max(64), parentId: z.number().int().min(0).max(MAX_UINT32).optional(), priority: z.number().int().min(0).max(MAX_UINT32).optional() });
export const renameDepartBody = z.strictObject({ name: z.string().min(1).max(64) });
export const createGroupBody = z.strictObject({
  name: z.string().trim().min(1).max(256),
  ownerId: id,
  memberIds: z.array(id).max(10000).optional(),
  temporary: z.boolean().optional(),
  avatar: z.string().max(256).optional(),
});
export const userIdsBody = z.strictObject({ userIds: z.array(id).min(1).max(10000) });
export const muteBody = z.strictObject({ memberId: memberOrAll, seconds: id });
export const unmuteBody = z.strictObject({ memberId: memberOrAll });

/** Parses a body (or a value) against its schema; a 400 naming the first bad field otherwise. */
export function check<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new OpsError('bad_request', `${where}${issue?.message ?? 'invalid body'}`);
}

/** A path or query id: digits only, 1..2^32-1. */
export function pathId(what: string, raw: string | null): number {
  if (raw === null || !/^[0-9]+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_UINT32) {
    throw new OpsError('bad_request', `${what} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}
