// POST /query/CreateGroup and /query/ChangeMembers: the admin tools' group
// operations (libs/cluster-ops group-ops: db-proxy's group RPCs, then the
// member notifies a client-made change sends, through route).
// TeamTalk's http_msg_server acts as user 0 (HttpQuery.cpp); here
// req_user_id 0 is the system sender for a create (it owns the group, so it
// may send to it) and the group's owner for a member change.
import { IM } from '@tiertalk/proto';
import { runGroupCommand, type OpsLink } from '@tiertalk/cluster-ops';
import type { z } from 'zod';
import type { changeMembersBody, createGroupBody } from './bodies';
import type { Users } from './users';

const { GROUP_TYPE_TMP } = IM.BaseDefine.GroupType;
const { GROUP_MODIFY_TYPE_ADD } = IM.BaseDefine.GroupModifyType;

export async function createGroup(link: OpsLink, users: Users, body: z.infer<typeof createGroupBody>): Promise<{ group_id: number; user_id_list: number[] }> {
  const ownerId = body.req_user_id === 0 ? await users.system() : await users.activeSender(body.req_user_id);
  const others = [...new Set(body.user_id_list)].filter((m) => m !== ownerId);
  const out = await runGroupCommand(link, {
    command: { kind: 'create', name: body.group_name, ownerId, memberIds: [ownerId, ...others], temporary: body.group_type === GROUP_TYPE_TMP, avatar: body.group_avatar },
    asUserId: undefined,
  });
  const made = out.json as { groupId: number; members: number[] };
  return { group_id: made.groupId, user_id_list: made.members };
}

export async function changeMembers(
  link: OpsLink,
  body: z.infer<typeof changeMembersBody>,
): Promise<{ group_id: number; modify_type: number; chg_user_id_list: number[]; cur_user_id_list: number[] }> {
  const kind = body.modify_type === GROUP_MODIFY_TYPE_ADD ? 'add' : 'remove';
  const out = await runGroupCommand(link, {
    command: { kind, groupId: body.group_id, userIds: [...new Set(body.user_id_list)] },
    asUserId: body.req_user_id === 0 ? undefined : body.req_user_id,
  });
  const changed = out.json as { changed: number[]; members: number[] };
  return { group_id: body.group_id, modify_type: body.modify_type, chg_user_id_list: changed.changed, cur_user_id_list: changed.members };
}
