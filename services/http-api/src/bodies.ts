// The request bodies, with TeamTalk's http_msg_server field names
// (server/src/http_msg_server/HttpQuery.cpp: req_user_id, group_name,
// group_type, group_avatar, user_id_list, group_id, modify_type) and, for
// SendMessage, which TeamTalk's open source leaves out, the names its forks
// use (from_user_id, to_session_id, msg_type, msg_data). Fields other than
// these are ignored, as TeamTalk ignores them (app_key is read by the token
// check). A bad value is a 400 naming the field.
import { z } from 'zod';
import { IM } from '@tiertalk/proto';
import { OpsError } from '@tiertalk/cluster-ops';

const MAX_UINT32 = 0xffffffff;
const id = z.number().int().min(1).max(MAX_UINT32);
/** 0 means "the system" (SendMessage, CreateGroup) or "the group's owner" (ChangeMembers), TeamTalk's user 0. */
const actor = z.number().int().min(0).max(MAX_UINT32);
const { MSG_TYPE_SINGLE_TEXT, MSG_TYPE_GROUP_TEXT } = IM.BaseDefine.MsgType;
const { GROUP_TYPE_NORMAL, GROUP_TYPE_TMP } = IM.BaseDefine.GroupType;
const { GROUP_MODIFY_TYPE_ADD, GROUP_MODIFY_TYPE_DEL } = IM.BaseDefine.GroupModifyType;

/** db-proxy keeps idempotency keys of at most 128 characters; ours are derived, so any caller key up to this length fits. */
export const IDEMPOTENCY_KEY_MAX = 256;

export const sendMessageBody = z
  .object({
    from_user_id: actor.default(0),
    to_session_id: id.optional(),
    to_user_id: id.optional(),
    msg_type: z.union([z.literal(MSG_TYPE_SINGLE_TEXT), z.literal(MSG_TYPE_GROUP_TEXT)], { error: `only text: ${MSG_TYPE_SINGLE_TEXT} (1:1) or ${MSG_TYPE_GROUP_TEXT} (group)` }).default(MSG_TYPE_SINGLE_TEXT),
    msg_data: z.string().min(1, { error: 'the message text is empty' }),
    idempotency_key: z.string().min(1).max(IDEMPOTENCY_KEY_MAX).optional(),
  })
  .refine((b) => (b.to_session_id === undefined) !== (b.to_user_id === undefined), { error: 'give the receiver as to_session_id (a user or group id) or to_user_id, exactly one', path: ['to_session_id'] });

export const createGroupBody = z.object({
  req_user_id: actor,
  group_name: z.string().trim().min(1).max(256),
  group_type: z.union([z.literal(GROUP_TYPE_NORMAL), z.literal(GROUP_TYPE_TMP)], { error: `${GROUP_TYPE_NORMAL} (normal) or ${GROUP_TYPE_TMP} (temporary)` }).default(GROUP_TYPE_NORMAL),
  group_avatar: z.string().max(256).default(''),
  user_id_list: z.array(id).max(10000).default([]),
});

export const changeMembersBody = z.object({
  req_user_id: actor.default(0),
  group_id: id,
  modify_type: z.union([z.literal(GROUP_MODIFY_TYPE_ADD), z.literal(GROUP_MODIFY_TYPE_DEL)], { error: `${GROUP_MODIFY_TYPE_ADD} (add) or ${GROUP_MODIFY_TYPE_DEL} (remove)` }),
  user_id_list: z.array(id).min(1).max(10000),
});

/** Parses a body against its schema; a 400 naming the first bad field otherwise. */
export function check<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) throw new OpsError('bad_request', 'the body must be a JSON object');
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new OpsError('bad_request', `${where}${issue?.message ?? 'invalid body'}`);
}
