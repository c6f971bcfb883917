import type { Logger } from '@tiertalk/log';
import { IM } from '@tiertalk/proto';
import { AudioStore, audioMsgData } from '../../store/audio-store';
import type { MessageRecord } from '../../store/message-reader';

const { MSG_TYPE_SINGLE_TEXT, MSG_TYPE_SINGLE_AUDIO, MSG_TYPE_GROUP_TEXT, MSG_TYPE_GROUP_AUDIO } = IM.BaseDefine.MsgType;
const VALID_TYPES: ReadonlySet<number> = new Set([MSG_TYPE_SINGLE_TEXT, MSG_TYPE_SINGLE_AUDIO, MSG_TYPE_GROUP_TEXT, MSG_TYPE_GROUP_AUDIO]);

export const isValidMsgType = (type: number): type is IM.BaseDefine.MsgType => VALID_TYPES.has(type);
export const isAudioMsgType = (type: number): boolean => type === MSG_TYPE_SINGLE_AUDIO || type === MSG_TYPE_GROUP_AUDIO;

// Message bytes per history answer: a gRPC message is at most 16 MiB, and
// audio stored before TT_AUDIO_MAX_BYTES existed may be large. A page that
// would pass this ends early (never before its first message); the client
// pages on from the last id it got.
export const PAGE_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Stored rows as MsgInfo (docs/FLOWS.md §7.2): rows of an invalid type are skipped
 * (TeamTalk's MsgType_IsValid), text is returned as stored, audio is expanded
 * from its IMAudio id to the 4-byte big-endian duration plus the audio bytes.
 */
export async function toMsgInfos(records: readonly MessageRecord[], audio: AudioStore, log: Logger): Promise<IM.BaseDefine.MsgInfo.$Properties[]> {
  const audioIds = records.filter((r) => isAudioMsgType(r.type)).map((r) => Number(r.content));
  const clips = audioIds.length > 0 ? await audio.load(audioIds) : new Map();
  const out: IM.BaseDefine.MsgInfo.$Properties[] = [];
  let bytes = 0;
  for (const r of records) {
    if (!isValidMsgType(r.type)) {
      log.warn({ msgId: r.msgId, type: r.type }, 'stored message of an invalid type skipped');
      continue;
    }
    let msgData: Buffer;
    if (isAudioMsgType(r.type)) {
      const clip = clips.get(Number(r.content));
      // TeamTalk would hand out the id text when msfs fails; a bare zero
      // duration is an empty clip to a client instead of garbage.
      if (clip === undefined || clip.data === undefined) log.warn({ msgId: r.msgId, audioId: r.content }, 'audio bytes not found');
      msgData = audioMsgData(clip ?? { duration: 0, data: undefined });
    } else {
      msgData = Buffer.from(r.content, 'utf8');
    }
    bytes += msgData.length;
    if (bytes > PAGE_MAX_BYTES && out.length > 0) {
      log.warn({ msgId: r.msgId, messages: out.length }, 'history answer cut at its byte budget');
      break;
    }
    out.push({ msgId: r.msgId, fromSessionId: r.fromId, createTime: r.created, msgType: r.type, msgData, ...(r.recallTime > 0 ? { recallTime: r.recallTime } : {}) });
  }
  return out;
}

/** The latest-message preview of unread and session lists: text as stored, audio as the encrypted "[语音]" (docs/FLOWS.md §7.1). */
export function previewData(record: MessageRecord, audioPreview: Buffer): Buffer {
  return isAudioMsgType(record.type) ? audioPreview : Buffer.from(record.content, 'utf8');
}
