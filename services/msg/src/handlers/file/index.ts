import { CID, IM } from '@tiertalk/proto';
import { on } from '../../dispatcher';
import type { HandlerTable } from '../../dispatcher';
import { onFileRequest } from './file-request';
import { onFileAddOffline, onFileDelOffline, onFileHasOffline } from './offline-files';

// docs/FILES.md: file transfer through the gateway.
export const fileHandlers: HandlerTable = {
  [CID.CID_FILE_REQUEST]: on(IM.File.IMFileReq.decode, onFileRequest),
  [CID.CID_FILE_HAS_OFFLINE_REQ]: on(IM.File.IMFileHasOfflineReq.decode, onFileHasOffline),
  [CID.CID_FILE_ADD_OFFLINE_REQ]: on(IM.File.IMFileAddOfflineReq.decode, onFileAddOffline),
  [CID.CID_FILE_DEL_OFFLINE_REQ]: on(IM.File.IMFileDelOfflineReq.decode, onFileDelOffline),
};
