import { CID, IM } from '@tiertalk/proto';
import { PendingPresence } from './pending-presence';

const { USER_STATUS_ONLINE: ONLINE, USER_STATUS_OFFLINE: OFFLINE } = IM.BaseDefine.UserStatType;

describe('PendingPresence', () => {
  it('keeps each user\'s latest status once, in the order of their last change, and empties on take', () => {
    const p = new PendingPresence();
    expect(p.add(1, ONLINE, 11)).toBe(false);
    expect(p.add(2, ONLINE)).toBe(false);
    expect(p.add(1, OFFLINE)).toBe(true);
    const [push, ...rest] = p.take(true);
    expect(rest).toEqual([]);
    expect(push).toMatchObject({ commandId: CID.CID_BUDDY_LIST_STATUS_NOTIFY, allUsers: true, clientClass: 1 });
    expect(push?.body).toHaveLength(0);
    // user 1 went offline: its logging-in connection is gone, so nobody is left out.
    expect(push?.presence).toEqual([
      { userId: 2, status: ONLINE },
      { userId: 1, status: OFFLINE },
    ]);
    expect(p.take(true)).toEqual([]);
  });

  it('leaves out every connection that logged in as the user during the interval', () => {
    const p = new PendingPresence();
    p.add(1, ONLINE, 11);
    p.add(1, ONLINE);
    p.add(1, ONLINE, 12);
    expect(p.take(true)[0]?.presence).toEqual([{ userId: 1, status: ONLINE, excludeConnIds: [11, 12] }]);
  });

  it('gives an older gateway one IMUserStatNotify push per user', () => {
    const p = new PendingPresence();
    p.add(1, ONLINE, 11);
    p.add(2, OFFLINE);
    const pushes = p.take(false);
    expect(pushes.map((x) => ({ stat: IM.Buddy.IMUserStatNotify.decode(x.body).userStat, exclude: x.originConnId, presence: x.presence }))).toEqual([
      { stat: { userId: 1, status: ONLINE }, exclude: 11, presence: undefined },
      { stat: { userId: 2, status: OFFLINE }, exclude: undefined, presence: undefined },
    ]);
  });
});
