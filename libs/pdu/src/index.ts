export {
  DEFAULT_MAX_FRAME_BYTES,
  PDU_HEADER_LENGTH,
  PDU_VERSION,
  encodeFrame,
  readHeader,
  writeHeader,
} from './frame';
export type { Frame, PduHeader } from './frame';
export { FrameReader } from './frame-reader';
export type { FrameReaderOptions } from './frame-reader';
export { FrameError } from './errors';
export type { FrameErrorCode } from './errors';
