import type Redis from 'ioredis';
import type { Logger } from '@tiertalk/log';
import { IM, tiertalk } from '@tiertalk/proto';
import { redisKeys } from '../../store/keys';
import type { OfflineStores } from './offline-stores';
import { checkSession } from './session-access';

/**
 * flows.md §6 step 2 (TeamTalk's clearUserCounter): a read ack clears the
 * whole unread counter of the session, whatever msg_id says; TierTalk also
 * keeps the read position, as the user's read cursor in the conversation index.
 */
export class ReadAcks {
  constructor(
    private readonly stores: OfflineStores,
    private readonly unreadRedis: Redis,
    private readonly log: Logger,
  ) {}

  async readAck(req: IM.Message.IMMsgDataReadAck): Promise<tiertalk.Empty> {
    const { userId, sessionType, sessionId, msgId } = req;
    const kind = checkSession(userId, sessionType, sessionId);
    if (kind === 'single') {
      await this.unreadRedis.hdel(redisKeys.unread(userId), String(sessionId));
    } else {
      if ((await this.stores.groups.joinTime(userId, sessionId)) === undefined) {
        this.log.warn({ method: 'ReadAck', userId, groupId: sessionId }, 'not a member of the group: nothing to mark read');
        return tiertalk.Empty.create();
      }
      await this.stores.groups.markRead(userId, sessionId);
    }
    if (msgId > 0) {
      await this.stores.conversations
        .markRead(userId, { type: sessionType, peerId: sessionId }, msgId)
        .catch((err: unknown) => this.log.warn({ err, userId, sessionId }, 'read cursor not written'));
    }
    return tiertalk.Empty.create();
  }

  /** Session removal clears the unread counter the same way (flows.md §8). */
  async clearUnread(userId: number, kind: 'single' | 'group', sessionId: number): Promise<void> {
    if (kind === 'single') await this.unreadRedis.hdel(redisKeys.unread(userId), String(sessionId));
    else await this.stores.groups.markRead(userId, sessionId);
  }
}
