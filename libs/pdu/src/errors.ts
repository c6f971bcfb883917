export type FrameErrorCode = 'FRAME_TOO_SHORT' | 'FRAME_TOO_LARGE';

/** Broken framing: the byte stream cannot be resynchronised, the caller must close the connection. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
  constructor(
    readonly code: FrameErrorCode,
    /** The length field as read from the wire. */
    readonly declaredLength: number,
    message: string,
  ) {
    super(message);
  }
}
