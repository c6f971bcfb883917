// Group fan-out and group notifications across two gateways (docs/FLOWS.md §10.2,
// §10.3, §10.4; TierTalk's IMGroupAdminNotify): what each member's connections
// see on the wire — every frame counted, before the SDK's dedupe.
import { CID, IM } from '@tiertalk/proto';
import { waitFor } from '@tiertalk/testkit';
import { ANDROID, PC } from './helpers';
import { expectNothingBefore, markEach, pushOf, sendGroupMarker } from './absence';
import { e2eSuite, type Session } from './suite';

jest.setTimeout(60_000);

const { GROUP_TYPE_NORMAL, GROUP_TYPE_TMP } = IM.BaseDefine.GroupType;
const { GROUP_MODIFY_TYPE_ADD } = IM.BaseDefine.GroupModifyType;
const GROUP_TEXT = IM.BaseDefine.MsgType.MSG_TYPE_GROUP_TEXT;

const suite = e2eSuite('groups-fanout', { dbProxy: 1, route: 1, msg: 2 });
const { ids } = suite;
const session = suite.session;
const gw1 = () => suite.gateway(0);
const gw2 = () => suite.gateway(1);

/**
 * A group of all demo users, for markers: group frames are queued on the
 * receiving gateway (traffic control), so only a group message is ordered
 * after a group message that would have come (absence.ts).
 */
async function everybodyGroup(s: Session): Promise<number> {
  const created = await createGroup(s, 'markers', Object.values(ids));
  if (created.resultCode !== 0 || !created.groupId) throw new Error(`marker group not created: ${JSON.stringify(created)}`);
  return created.groupId;
}

async function createGroup(s: Session, name: string, members: number[], groupType = GROUP_TYPE_TMP): Promise<IM.Group.IMGroupCreateRsp> {
  const body = IM.Group.IMGroupCreateReq.encode({ userId: 0, groupType, groupName: name, groupAvatar: '', memberIdList: members }).finish();
  return s.client.request(CID.CID_GROUP_CREATE_REQUEST, body, CID.CID_GROUP_CREATE_RESPONSE, (b) => IM.Group.IMGroupCreateRsp.decode(b));
}

async function sendGroupText(s: Session, groupId: number, text: string): Promise<IM.Message.IMMsgDataAck> {
  const body = IM.Message.IMMsgData.encode({ fromUserId: ids[s.name], toSessionId: groupId, msgId: 0, createTime: 0, msgType: GROUP_TEXT, msgData: Buffer.from(text) }).finish();
  return s.client.request(CID.CID_MSG_DATA, body, CID.CID_MSG_DATA_ACK, (b) => IM.Message.IMMsgDataAck.decode(b));
}

/** Every IMMsgData frame of the group this session received (pushes, seq 0). */
function groupFrames(s: Session, groupId: number): IM.Message.IMMsgData[] {
  return s.log.of(CID.CID_MSG_DATA, (b) => IM.Message.IMMsgData.decode(b)).filter((m) => isGroupMessage(m, groupId));
}

/** A group message of that group (a 1:1 marker's to_session_id is a user id, which may equal a group id). */
function isGroupMessage(m: IM.Message.IMMsgData, groupId: number): boolean {
  return m.toSessionId === groupId && m.msgType === GROUP_TEXT;
}

function countById(msgs: IM.Message.IMMsgData[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of msgs) out.set(m.msgId, (out.get(m.msgId) ?? 0) + 1);
  return out;
}

describe('group messages across two gateways', () => {
  it('reach every member connection on both gateways exactly once, not the sending connection, not non-members', async () => {
    const aliceSend = await session(gw1(), 'alice', PC);
    const alicePhone = await session(gw2(), 'alice', ANDROID);
    const bob = await session(gw1(), 'bob', PC);
    const carolPc = await session(gw2(), 'carol', PC);
    const carolPhone = await session(gw1(), 'carol', ANDROID);
    const dave = await session(gw2(), 'dave', PC);

    const created = await createGroup(aliceSend, 'fanout', [ids.alice, ids.bob, ids.carol]);
    expect(created.resultCode).toBe(0);
    const groupId = created.groupId ?? 0;
    expect(groupId).toBeGreaterThan(0);

    const acks: IM.Message.IMMsgDataAck[] = [];
    for (let i = 0; i < 20; i++) acks.push(await sendGroupText(aliceSend, groupId, `burst ${i}`));
    for (const ack of acks) {
      expect(ack.sessionType).toBe(IM.BaseDefine.SessionType.SESSION_TYPE_GROUP);
      expect(ack.sessionId).toBe(groupId);
      expect(ack.msgId).toBeGreaterThan(0);
    }
    const msgIds = acks.map((a) => a.msgId);
    expect(new Set(msgIds).size).toBe(20);

    const receivers = [alicePhone, bob, carolPc, carolPhone];
    const frameCounts = (): string => receivers.map((r) => `${r.name}: ${groupFrames(r, groupId).length}`).join(', ');
    // Fails (naming who is short) when the fan-out does not reach every member connection.
    await waitFor(() => receivers.every((r) => groupFrames(r, groupId).length >= 20), 5000, {
      what: '20 group frames at every member connection',
    }).catch((err: Error) => {
      throw new Error(`${err.message}; got ${frameCounts()}`);
    });
    // Duplicates, or frames to the sender or a non-member, would be queued before these markers.
    const everybody = await everybodyGroup(bob);
    // (Not from aliceSend: its burst used up this second's message rate.)
    const fromBob = await sendGroupMarker(bob.client, everybody);
    const fromAlicePhone = await sendGroupMarker(alicePhone.client, everybody);
    for (const r of [aliceSend, alicePhone, carolPc, carolPhone, dave]) await r.log.waitFor(fromBob);
    await bob.log.waitFor(fromAlicePhone);

    for (const r of receivers) {
      const frames = groupFrames(r, groupId);
      const counts = countById(frames);
      expect({ who: r.name, ids: [...counts.keys()].sort((a, b) => a - b) }).toEqual({ who: r.name, ids: [...msgIds].sort((a, b) => a - b) });
      for (const n of counts.values()) expect(n).toBe(1);
      // In the order they were stored, with sender, group and text as sent.
      expect(frames.map((m) => m.msgId)).toEqual(msgIds);
      expect(frames.map((m) => Buffer.from(m.msgData).toString())).toEqual(msgIds.map((_, i) => `burst ${i}`));
      for (const m of frames) expect(m.fromUserId).toBe(ids.alice);
    }
    expect(groupFrames(aliceSend, groupId)).toEqual([]);
    expect(groupFrames(dave, groupId)).toEqual([]);
  });

  it('a non-member cannot post: refused with msg_id 0 and nobody gets it', async () => {
    const alice = await session(gw1(), 'alice', PC);
    const bob = await session(gw2(), 'bob', PC);
    const dave = await session(gw2(), 'dave', PC);
    const created = await createGroup(alice, 'closed', [ids.alice, ids.bob]);
    const groupId = created.groupId ?? 0;
    const body = IM.Message.IMMsgData.encode({ fromUserId: ids.dave, toSessionId: groupId, msgId: 0, createTime: 0, msgType: GROUP_TEXT, msgData: Buffer.from('intruder') }).finish();
    await expect(
      dave.client.request(CID.CID_MSG_DATA, body, CID.CID_MSG_DATA_ACK, (b) => IM.Message.IMMsgDataAck.decode(b), { timeoutMs: 5000 }),
    ).resolves.toMatchObject({ msgId: 0, sessionId: groupId });
    expect(groupFrames(bob, groupId)).toEqual([]);
    expect(groupFrames(alice, groupId)).toEqual([]);
  });
});

describe('group creation', () => {
  it('a NORMAL group request is dropped silently at the gateway (docs/FLOWS.md §10.3)', async () => {
    const alice = await session(gw1(), 'alice', PC);
    const mark = alice.log.mark;
    const normal = IM.Group.IMGroupCreateReq.encode({ userId: 0, groupType: GROUP_TYPE_NORMAL, groupName: 'fixed', groupAvatar: '', memberIdList: [ids.alice, ids.bob] }).finish();
    alice.client.sendFrame(CID.CID_GROUP_CREATE_REQUEST, 4242, normal);
    // Marker: a temporary group asked later on the same connection goes the same way
    // (gateway → db-proxy → gateway); its answer comes after the dropped one's would have.
    expect((await createGroup(alice, 'temporary', [ids.alice, ids.bob])).resultCode).toBe(0);
    expect(alice.log.all.slice(mark).filter((r) => r.seqNum === 4242)).toEqual([]);
    expect(alice.client.isClosed).toBe(false);
  });
});

describe('change-member notify (docs/FLOWS.md §10.4)', () => {
  it('goes to every connection of cur ∪ chg on both gateways except the requesting one; the added member then gets messages', async () => {
    const alice = await session(gw1(), 'alice', PC);
    const alicePhone = await session(gw2(), 'alice', ANDROID);
    const bob = await session(gw2(), 'bob', PC);
    const dave = await session(gw1(), 'dave', PC);
    const carol = await session(gw2(), 'carol', PC);
    const created = await createGroup(alice, 'grow', [ids.alice, ids.bob]);
    const groupId = created.groupId ?? 0;

    const req = IM.Group.IMGroupChangeMemberReq.encode({ userId: 0, changeType: GROUP_MODIFY_TYPE_ADD, groupId, memberIdList: [ids.dave] }).finish();
    const rsp = await alice.client.request(CID.CID_GROUP_CHANGE_MEMBER_REQUEST, req, CID.CID_GROUP_CHANGE_MEMBER_RESPONSE, (b) =>
      IM.Group.IMGroupChangeMemberRsp.decode(b),
    );
    expect(rsp.resultCode).toBe(0);
    expect([...rsp.curUserIdList].sort()).toEqual([ids.alice, ids.bob, ids.dave].sort());

    const decode = (b: Uint8Array): IM.Group.IMGroupChangeMemberNotify => IM.Group.IMGroupChangeMemberNotify.decode(b);
    for (const s of [alicePhone, bob, dave]) {
      const n = await s.log.next(CID.CID_GROUP_CHANGE_MEMBER_NOTIFY, decode, (x) => x.groupId === groupId);
      expect(n.userId).toBe(ids.alice);
      expect(n.changeType).toBe(GROUP_MODIFY_TYPE_ADD);
      expect(n.chgUserIdList).toEqual([ids.dave]);
      expect([...n.curUserIdList].sort()).toEqual([ids.alice, ids.bob, ids.dave].sort());
    }
    // Routed to both gateways: a later message to each reaches it after any second notify.
    await markEach([alice, alicePhone, bob, dave, carol], [dave, alice], ids);
    for (const s of [alicePhone, bob, dave]) expect(s.log.of(CID.CID_GROUP_CHANGE_MEMBER_NOTIFY, decode)).toHaveLength(1);
    expect(alice.log.of(CID.CID_GROUP_CHANGE_MEMBER_NOTIFY, decode)).toEqual([]);
    expect(carol.log.of(CID.CID_GROUP_CHANGE_MEMBER_NOTIFY, decode)).toEqual([]);

    const ack = await sendGroupText(bob, groupId, 'welcome dave');
    const got = await dave.log.next(CID.CID_MSG_DATA, (b) => IM.Message.IMMsgData.decode(b), (m) => isGroupMessage(m, groupId));
    expect(got.msgId).toBe(ack.msgId);
    expect(Buffer.from(got.msgData).toString()).toBe('welcome dave');
  });
});

describe('admin notify (TierTalk extension)', () => {
  it('a kick notifies the members and the removed member on both gateways, not the requesting connection', async () => {
    const alice = await session(gw1(), 'alice', PC);
    const alicePhone = await session(gw2(), 'alice', ANDROID);
    const bob = await session(gw2(), 'bob', PC);
    const carol = await session(gw1(), 'carol', PC);
    const dave = await session(gw2(), 'dave', PC);
    const created = await createGroup(alice, 'kick', [ids.alice, ids.bob, ids.carol]);
    const groupId = created.groupId ?? 0;

    const req = IM.Group.IMGroupKickReq.encode({ userId: 0, groupId, memberIdList: [ids.carol] }).finish();
    const rsp = await alice.client.request(CID.CID_GROUP_KICK_REQUEST, req, CID.CID_GROUP_KICK_RESPONSE, (b) => IM.Group.IMGroupKickRsp.decode(b));
    expect(rsp.resultCode).toBe(IM.Group.GroupAdminResult.GROUP_ADMIN_OK);

    const decode = (b: Uint8Array): IM.Group.IMGroupAdminNotify => IM.Group.IMGroupAdminNotify.decode(b);
    for (const s of [alicePhone, bob, carol]) {
      const n = await s.log.next(CID.CID_GROUP_ADMIN_NOTIFY, decode, (x) => x.groupId === groupId);
      expect(n.operatorId).toBe(ids.alice);
      expect(n.action).toBe(IM.Group.GroupAdminAction.GROUP_ACTION_KICK);
      expect(n.memberIdList).toEqual([ids.carol]);
      expect([...n.curUserIdList].sort()).toEqual([ids.alice, ids.bob].sort());
    }
    await markEach([alice, dave], [bob], ids);
    expect(alice.log.of(CID.CID_GROUP_ADMIN_NOTIFY, decode)).toEqual([]);
    expect(dave.log.of(CID.CID_GROUP_ADMIN_NOTIFY, decode)).toEqual([]);

    // The kicked member no longer gets the group's messages.
    await sendGroupText(bob, groupId, 'after the kick');
    await alicePhone.log.next(CID.CID_MSG_DATA, (b) => IM.Message.IMMsgData.decode(b), (m) => isGroupMessage(m, groupId));
    // Routed to both gateways (alice's PC is on carol's); a later group message from the same gateway queues after it.
    await expectNothingBefore(carol.log, await sendGroupMarker(bob.client, await everybodyGroup(bob)), pushOf(CID.CID_MSG_DATA, (b) => IM.Message.IMMsgData.decode(b), (m) => isGroupMessage(m, groupId)));
  });

  it('a group-wide mute notifies every member with mute_until (members read after the change)', async () => {
    const alice = await session(gw1(), 'alice', PC);
    const bob = await session(gw2(), 'bob', PC);
    const carol = await session(gw1(), 'carol', ANDROID);
    const created = await createGroup(alice, 'mute', [ids.alice, ids.bob, ids.carol]);
    const groupId = created.groupId ?? 0;

    const req = IM.Group.IMGroupMuteReq.encode({ userId: 0, groupId, memberId: 0, muteSeconds: 600 }).finish();
    const rsp = await alice.client.request(CID.CID_GROUP_MUTE_REQUEST, req, CID.CID_GROUP_MUTE_RESPONSE, (b) => IM.Group.IMGroupMuteRsp.decode(b));
    expect(rsp.resultCode).toBe(IM.Group.GroupAdminResult.GROUP_ADMIN_OK);
    expect(rsp.muteUntil).toBeGreaterThan(Math.floor(Date.now() / 1000));

    const decode = (b: Uint8Array): IM.Group.IMGroupAdminNotify => IM.Group.IMGroupAdminNotify.decode(b);
    for (const s of [bob, carol]) {
      const n = await s.log.next(CID.CID_GROUP_ADMIN_NOTIFY, decode, (x) => x.groupId === groupId);
      expect(n.action).toBe(IM.Group.GroupAdminAction.GROUP_ACTION_MUTE_ALL);
      expect(n.memberIdList).toEqual([]);
      expect(n.muteUntil).toBe(rsp.muteUntil);
      expect([...n.curUserIdList].sort()).toEqual([ids.alice, ids.bob, ids.carol].sort());
    }
    await markEach([alice], [bob], ids);
    expect(alice.log.of(CID.CID_GROUP_ADMIN_NOTIFY, decode)).toEqual([]);
  });
});
