// A group posting faster than the gateways may push (traffic control with a
// tiny budget): the excess is shed from the LIVE push only. Every member still
// gets every message, exactly once, through unread and history; no live copy
// arrives twice.
import { TeamTalkClient } from '@tiertalk/client';
import { CID, IM } from '@tiertalk/proto';
import { waitFor } from '@tiertalk/testkit';
import { ANDROID, PC, loggedIn } from './helpers';
import { e2eSuite } from './suite';

jest.setTimeout(60_000);

const BURST = 60;
const GROUP = IM.BaseDefine.SessionType.SESSION_TYPE_GROUP;
const suite = e2eSuite('group-flood', {
  dbProxy: 1,
  route: 1,
  msg: 2,
  serviceEnv: {
    // 10 deliveries a second per gateway, at most 20 queued: a burst of 60 must shed.
    msg: { TT_GROUP_PUSH_TICKETS: '10', TT_GROUP_PUSH_INTERVAL_MS: '1000', TT_GROUP_PUSH_QUEUE_MAX: '20', TT_MSG_RATE_PER_SEC: '0' },
  },
});

/** Every history page of the group, newest first, until the start. */
async function wholeHistory(c: TeamTalkClient, groupId: number): Promise<number[]> {
  const ids: number[] = [];
  let begin = 0;
  for (;;) {
    const page = await c.messageList(GROUP, groupId, begin, 20);
    ids.push(...page.msgList.map((m) => m.msgId));
    if (page.msgList.length < 20) return ids;
    begin = page.msgList[page.msgList.length - 1].msgId - 1;
    if (begin <= 0) return ids;
  }
}

it('sheds live pushes under a flood but loses nothing: unread and history give every member every message once', async () => {
  const [gw1, gw2] = [suite.gateway(0), suite.gateway(1)];
  const names = ['alice', 'bob', 'carol', 'dave'];
  const id = suite.ids;

  const alice = await loggedIn(gw1, 'alice', PC);
  const members = { bob: await loggedIn(gw1, 'bob', PC), carol: await loggedIn(gw2, 'carol', PC), dave: await loggedIn(gw2, 'dave', ANDROID) };
  for (const c of [alice, ...Object.values(members)]) suite.track(c);
  const live: Record<string, number[]> = { bob: [], carol: [], dave: [] };
  const markedAt = new Set<string>();
  // Created before the flood: the marker group (see below).
  const markerGroup = await alice.groups.createGroup('flood marker', '', names.map((n) => id[n]));
  for (const [name, c] of Object.entries(members)) {
    // Raw frames, before the SDK's duplicate suppression.
    c.on('pdu', (p: { commandId: number; body: Uint8Array }) => {
      if (p.commandId !== CID.CID_MSG_DATA) return;
      const m = IM.Message.IMMsgData.decode(p.body);
      if (m.toSessionId === markerGroup.groupId) markedAt.add(name);
      else live[name].push(m.msgId);
    });
  }

  const group = await alice.groups.createGroup('flood', '', names.map((n) => id[n]));
  const acks = await Promise.all(Array.from({ length: BURST }, (_, i) => alice.groups.sendGroupText(group.groupId, `burst ${i}`)));
  const ackedIds = acks.map((a) => a.msgId).sort((a, b) => a - b);
  expect(ackedIds).toEqual(Array.from({ length: BURST }, (_, i) => i + 1));

  // Marker: a group message sent after the flood joins each gateway's push queue (FIFO)
  // behind whatever of the flood is still queued; once it is here, the live pushes are over.
  await alice.groups.sendGroupText(markerGroup.groupId, 'marker');
  await waitFor(() => markedAt.size === Object.keys(members).length, 15_000, { what: 'the marker at every member' });
  for (const [name, c] of Object.entries(members)) {
    const got = live[name];
    expect(new Set(got).size).toBe(got.length); // never twice
    expect(got.length).toBeLessThan(BURST); // the budget really shed pushes
    const unread = await c.unreadCounts();
    expect(unread.unreadinfoList.find((u) => u.sessionId === group.groupId)?.unreadCnt).toBe(BURST);
    expect((await wholeHistory(c, group.groupId)).sort((a, b) => a - b)).toEqual(ackedIds);
  }
});
