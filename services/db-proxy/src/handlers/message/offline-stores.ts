import type { MysqlPools } from '../../store/mysql';
import type { RedisInstances } from '../../store/redis';
import { AudioStore } from '../../store/audio-store';
import { ConversationIndex } from '../../store/conversation-index';
import { GroupMessageReader } from '../../store/group-message-reader';
import { MessageReader } from '../../store/message-reader';
import type { MessageShardServers } from '../../store/shard-servers';
import { RecentSessionWriter } from '../../store/recent-sessions';
import { RelationReader } from '../../store/relation-reader';
import { UnreadEpoch } from '../../store/unread-epoch';
import { UnreadRebuilder } from '../../store/unread-rebuild';
import { audioPreview } from './audio-preview';

/**
 * The stores behind offline messages, history, read sync and recent sessions
 * (docs/FLOWS.md §6-§8), built once and shared by the committer (which writes the
 * conversation index, audio and sessions) and the unary handlers.
 */
export interface OfflineStores {
  relations: RelationReader;
  messages: MessageReader;
  groups: GroupMessageReader;
  /** The server of each message shard (TT_MYSQL_SHARDS). */
  shards: MessageShardServers;
  audio: AudioStore;
  conversations: ConversationIndex;
  /** The send path's session writer: a removed session must be re-activated by the next message. */
  sessionWriter: RecentSessionWriter;
  /** Detects that the unread Redis lost its counters (started by main). */
  unreadEpoch: UnreadEpoch;
  /** Rebuilds a user's counters from MySQL once per epoch, before they are answered. */
  unreadRebuild: UnreadRebuilder;
  /** docs/PROTOCOL.md §5: "[语音]" encrypted with the configured key, the preview of an audio message. */
  audioPreview: Buffer;
}

export interface OfflineOptions {
  convIndexLimit: number;
  convIndexTtlSec: number;
  aesKey: string;
  /** Recent sessions per user whose unread is rebuilt after Redis lost the counters (default 100). */
  unreadRebuildSessions?: number;
}

export function createOfflineStores(mysql: MysqlPools, redis: RedisInstances, opts: OfflineOptions): OfflineStores {
  // Conversations, history and audio are read from the master: a client pulls
  // them right after an ACK or an unread count, and a lagging replica would
  // answer without the message just stored (issue 10: reads that must see the
  // latest write). The replica keeps serving the directory (users, departments).
  const relations = new RelationReader(mysql.master);
  const groups = new GroupMessageReader(mysql.master, mysql.master, mysql.shards, redis.groupMember, redis.unread);
  const unreadEpoch = new UnreadEpoch(redis.unread);
  return {
    relations,
    messages: new MessageReader(mysql.shards),
    groups,
    shards: mysql.shards,
    audio: new AudioStore(mysql.writer, mysql.master),
    conversations: new ConversationIndex(redis.sync, opts.convIndexLimit, opts.convIndexTtlSec),
    sessionWriter: new RecentSessionWriter(),
    unreadEpoch,
    unreadRebuild: new UnreadRebuilder({
      master: mysql.master,
      shards: mysql.shards,
      unreadRedis: redis.unread,
      epoch: unreadEpoch,
      relations,
      groups,
      maxSessions: opts.unreadRebuildSessions ?? 100,
    }),
    audioPreview: audioPreview(opts.aesKey),
  };
}
