import type { Logger } from '@tiertalk/log';
import { IM, nowSec, tiertalk } from '@tiertalk/proto';
import { RequestError } from '../../unary';
import { FILE_NAME_MAX_CHARS, TASK_ID_MAX_CHARS } from '../../store/transmit-files';
import type { TransmitFileStore } from '../../store/transmit-files';

/** At most this many offline files in one IMFileHasOfflineRsp (TeamTalk lists all; a flood must not build a huge PDU). */
export const OFFLINE_FILES_LIST_MAX = 200;

/**
 * Offline file records (docs/FILES.md): the sender adds one after its upload
 * to the file server finished, the receiver lists them (at login) and deletes
 * one after downloading it. The gateway has set the asking user's id.
 */
export class OfflineFileHandlers {
  constructor(
    private readonly files: TransmitFileStore,
    private readonly log: Logger,
  ) {}

  /** 0x0509 → 0x050a without ip_addr_list (the gateway adds the file servers' addresses). */
  async hasOffline(req: IM.File.IMFileHasOfflineReq): Promise<IM.File.IMFileHasOfflineRsp> {
    if (req.userId === 0) throw new RequestError('request_invalid', 'FileHasOffline: user_id 0');
    const rows = await this.files.listFor(req.userId, OFFLINE_FILES_LIST_MAX);
    return IM.File.IMFileHasOfflineRsp.create({
      userId: req.userId,
      offlineFileList: rows.map((r) => ({ fromUserId: r.fromId, taskId: r.taskId, fileName: r.fileName, fileSize: r.size })),
    });
  }

  /** 0x050b: records a file waiting for `to_user_id` (no reply PDU in TeamTalk). */
  async addOffline(req: IM.File.IMFileAddOfflineReq): Promise<tiertalk.Empty> {
    checkIds(req.fromUserId, req.toUserId, req.taskId, 'FileAddOffline');
    if (req.fileName === '' || [...req.fileName].length > FILE_NAME_MAX_CHARS) {
      throw new RequestError('request_invalid', `FileAddOffline: file_name must have 1..${FILE_NAME_MAX_CHARS} characters`);
    }
    const added = await this.files.add(req.fromUserId, req.toUserId, req.taskId, req.fileName, req.fileSize, nowSec());
    this.log.info({ fromId: req.fromUserId, toId: req.toUserId, taskId: req.taskId, size: req.fileSize, added }, 'offline file recorded');
    return tiertalk.Empty.create();
  }

  /** 0x050c: removes the record (the receiver downloaded or refused it, or the sender withdrew it). */
  async delOffline(req: IM.File.IMFileDelOfflineReq): Promise<tiertalk.Empty> {
    checkIds(req.fromUserId, req.toUserId, req.taskId, 'FileDelOffline');
    const removed = await this.files.remove(req.fromUserId, req.toUserId, req.taskId);
    this.log.info({ fromId: req.fromUserId, toId: req.toUserId, taskId: req.taskId, removed }, 'offline file record deleted');
    return tiertalk.Empty.create();
  }
}

function checkIds(fromId: number, toId: number, taskId: string, method: string): void {
  if (fromId === 0 || toId === 0) throw new RequestError('request_invalid', `${method}: from_user_id and to_user_id must be set`);
  if (fromId === toId) throw new RequestError('request_invalid', `${method}: a file to oneself`);
  if (taskId === '' || taskId.length > TASK_ID_MAX_CHARS) throw new RequestError('request_invalid', `${method}: task_id must have 1..${TASK_ID_MAX_CHARS} characters`);
}
