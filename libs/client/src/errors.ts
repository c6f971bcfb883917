// One catalogue of client error codes; callers match `code`, never the message.
export type ClientErrorCode =
  /** login server: no msg server registered (JSON code 1). */
  | 'NO_MSG_SERVER'
  /** login server: every msg server is full (JSON code 2). */
  | 'MSG_SERVER_FULL'
  /** login server answered with something that is not TeamTalk's JSON, or an unknown code. */
  | 'BAD_LOGIN_SERVER_RESPONSE'
  /** TCP/WebSocket connect failed or timed out. */
  | 'CONNECT_FAILED'
  /** TLS: the server's certificate did not verify (unknown CA, wrong name, expired). */
  | 'TLS_VERIFY_FAILED'
  /** IMLoginRes with a non-zero result_code. */
  | 'LOGIN_REFUSED'
  /** login() called twice, or a command that needs a login before it. */
  | 'BAD_STATE'
  /** No IMMsgDataAck for a sent message in time. */
  | 'ACK_TIMEOUT'
  /** No response for a request in time. */
  | 'REQUEST_TIMEOUT'
  /** A response body that does not decode. */
  | 'BAD_RESPONSE'
  /** A response with a non-zero result_code (remove session, sign info, avatar, push shield); see resultCode. */
  | 'REQUEST_REFUSED'
  /**
   * IMMsgDataAck with msg_id 0 (TeamTalk's "not stored"): the gateway refused the message — over its
   * messages-per-second limit (docs/FLOWS.md §3), rejected by storage, or not stored within the gateway's
   * store deadline. Nothing was stored or delivered; sending it again is safe.
   */
  | 'NOT_STORED'
  /** All 65535 sequence numbers are waiting for a response. */
  | 'SEQ_EXHAUSTED'
  /** Broken framing from the server; the stream is lost. */
  | 'FRAME_ERROR'
  /** Too many bytes queued for a socket that does not drain. */
  | 'WRITE_BUFFER_FULL'
  /** The transport failed (socket error, non-binary WebSocket message). */
  | 'TRANSPORT_ERROR'
  /** The connection is closed (or closed while waiting). */
  | 'CLOSED';

export interface ClientErrorDetails {
  /** IMLoginRes.result_code (LOGIN_REFUSED), a response's result_code (REQUEST_REFUSED) or the login server's JSON `code`. */
  resultCode?: number;
  resultString?: string;
  cause?: unknown;
}

export class ClientError extends Error {
  override readonly name = 'ClientError';
  readonly resultCode: number | undefined;
  readonly resultString: string | undefined;

  constructor(
    readonly code: ClientErrorCode,
    message: string,
    details: ClientErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.resultCode = details.resultCode;
    this.resultString = details.resultString;
  }
}

export function isClientError(err: unknown, code?: ClientErrorCode): err is ClientError {
  return err instanceof ClientError && (code === undefined || err.code === code);
}
