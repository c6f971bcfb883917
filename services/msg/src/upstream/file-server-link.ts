import { FileServerService, IM } from '@tiertalk/proto';
import type { InstancePool } from '@tiertalk/rpc';
import { unaryCall } from '@tiertalk/rpc';
import { clientAddresses } from './file-servers';
import { unaryCalls } from './unary-calls';

/** A file server's answer to a task request, with where clients reach that very instance (the task lives there). */
export interface FileTask {
  rsp: IM.Server.IMFileTransferRsp;
  address: IM.BaseDefine.IpAddr.$Properties[];
}

/**
 * Gateway → file server (TeamTalk's CID_OTHER_FILE_TRANSFER_REQ over gRPC).
 * One live instance at random; the answer names that instance's client address.
 */
export class FileServerLink {
  constructor(
    private readonly pool: InstancePool,
    private readonly deadlineMs: number,
  ) {}

  /** undefined when no file server runs. Rejects when the picked one does not answer. */
  async transfer(req: IM.Server.IMFileTransferReq.$Properties): Promise<FileTask | undefined> {
    const pick = this.pool.pick();
    if (pick === undefined) return undefined;
    const rsp = await unaryCalls.track(unaryCall(pick.client, FileServerService.Transfer, IM.Server.IMFileTransferReq.create(req), { deadlineMs: this.deadlineMs }));
    return { rsp, address: clientAddresses([pick.info]) };
  }
}
