import type { RedisClient } from '@tiertalk/redis';
import type { Logger } from '@tiertalk/log';
import { IM, tiertalk } from '@tiertalk/proto';
import type { Pool } from 'mysql2/promise';
import { redisKeys } from '../../store/keys';
import { advanceReadCursor } from '../../store/read-cursors';
import type { OfflineStores } from './offline-stores';
import { checkSession } from './session-access';

/**
 * docs/FLOWS.md §6 step 2 (TeamTalk's clearUserCounter): a read ack clears the
 * whole unread counter of the session, whatever msg_id says; TierTalk also
 * keeps the read position: as the user's read cursor in the conversation index
 * (sync Redis) and durably in IMReadCursor, which rebuilds the counters after
 * the unread Redis lost them.
 */
export class ReadAcks {
  constructor(
    private readonly stores: OfflineStores,
    private readonly unreadRedis: RedisClient,
    private readonly master: Pool,
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
      await Promise.all([
        this.stores.conversations
          .markRead(userId, { type: sessionType, peerId: sessionId }, msgId)
          .catch((err: unknown) => this.log.warn({ err, userId, sessionId }, 'read cursor not written to the conversation index')),
        this.advanceCursor(userId, kind, sessionType, sessionId, msgId).catch((err: unknown) =>
          this.log.warn({ err, userId, sessionId }, 'durable read cursor not written; a counter rebuild would count these messages again'),
        ),
      ]);
    }
    return tiertalk.Empty.create();
  }

  /** IMReadCursor (MySQL): what a rebuild of the counters after a Redis loss starts from. */
  private async advanceCursor(userId: number, kind: 'single' | 'group', sessionType: number, sessionId: number, msgId: number): Promise<void> {
    const conversationId = kind === 'group' ? sessionId : await this.stores.relations.find(userId, sessionId);
    if (conversationId === undefined) return;
    await advanceReadCursor(this.master, this.stores.shards.poolOf(conversationId), { userId, peerId: sessionId, sessionType, msgId }, conversationId, Math.floor(Date.now() / 1000));
  }

  /** Session removal clears the unread counter the same way (docs/FLOWS.md §8). */
  async clearUnread(userId: number, kind: 'single' | 'group', sessionId: number): Promise<void> {
    if (kind === 'single') await this.unreadRedis.hdel(redisKeys.unread(userId), String(sessionId));
    else await this.stores.groups.markRead(userId, sessionId);
  }
}
