import net from 'node:net';
import { listen } from '@tiertalk/lifecycle';
import type { Logger } from '@tiertalk/log';
import { newRequestId } from '@tiertalk/log';
import { Frame, FrameError, FrameReader, encodeFrame } from '@tiertalk/pdu';
import { CID, IM, SID } from '@tiertalk/proto';
import { GatewayPick, PICK_FULL, PICK_NONE, PICK_OK } from './gateway-picker';

const RESULT_CODE = {
  [PICK_OK]: IM.BaseDefine.ResultType.REFUSE_REASON_NONE,
  [PICK_NONE]: IM.BaseDefine.ResultType.REFUSE_REASON_NO_MSG_SERVER,
  [PICK_FULL]: IM.BaseDefine.ResultType.REFUSE_REASON_MSG_SERVER_FULL,
} as const;

// IMMsgServReq has no fields, so a legitimate PDU is 16 bytes; anything near this is not a client.
const MAX_FRAME_BYTES = 1024;
export const LEGACY_IDLE_TIMEOUT_MS = 60_000;

export interface LegacyTcpOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Chooses the gateway for one answer; the same chooser as the HTTP server's, so both count alike. */
  pick: () => GatewayPick;
  logger: Logger;
  idleTimeoutMs?: number;
}

export interface LegacyTcpServer {
  readonly address: net.AddressInfo;
  close(graceMs?: number): Promise<void>;
}

/** docs/FLOWS.md §1b / docs/FLOWS.md §14 D5: answer CID_LOGIN_REQ_MSGSERVER with IMMsgServRsp, then close. */
export async function startLegacyTcpServer(opts: LegacyTcpOptions): Promise<LegacyTcpServer> {
  const log = opts.logger.child({ component: 'legacy-tcp' });
  const idleTimeoutMs = opts.idleTimeoutMs ?? LEGACY_IDLE_TIMEOUT_MS;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serve(socket, opts, log, idleTimeoutMs);
  });

  const address = await listen(server, opts.port, opts.host, 'legacy tcp server');
  log.info({ host: address.address, port: address.port }, 'legacy tcp listening');

  let closing: Promise<void> | undefined;
  return {
    address,
    close(graceMs = 2000) {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, graceMs);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return closing;
    },
  };
}

function serve(socket: net.Socket, opts: LegacyTcpOptions, parent: Logger, idleTimeoutMs: number): void {
  const log = parent.child({ connId: newRequestId(), remote: socket.remoteAddress });
  const reader = new FrameReader({ maxFrameBytes: MAX_FRAME_BYTES });
  let answered = false;

  socket.setTimeout(idleTimeoutMs, () => {
    log.info('idle connection closed');
    socket.destroy();
  });
  socket.on('error', (err) => log.debug({ err: err.message }, 'socket error'));
  socket.on('data', (chunk: Buffer) => {
    if (answered) return;
    let frames: Frame[];
    try {
      frames = reader.push(chunk);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      log.warn({ err: err.message, code: err.code }, 'bad framing, connection closed');
      socket.destroy();
      return;
    }
    for (const frame of frames) {
      // TeamTalk's CLoginConn switches on the command id alone and ignores the rest (F5).
      if (frame.commandId !== CID.CID_LOGIN_REQ_MSGSERVER) {
        log.debug({ sid: frame.serviceId, cid: frame.commandId }, 'ignored command');
        continue;
      }
      // IMMsgServReq has no fields: nothing to decode, and a body that does not parse changes nothing.
      const pick = opts.pick();
      const rsp = IM.Login.IMMsgServRsp.encode(
        pick.code === PICK_OK
          ? { resultCode: RESULT_CODE[PICK_OK], priorIp: pick.gateway.ip1, backipIp: pick.gateway.ip2, port: pick.gateway.port }
          : { resultCode: RESULT_CODE[pick.code] },
      ).finish();
      answered = true;
      socket.end(encodeFrame(SID.SID_LOGIN, CID.CID_LOGIN_RES_MSGSERVER, frame.seqNum, rsp));
      log.info(
        {
          seq: frame.seqNum,
          code: pick.code,
          gateway: pick.code === PICK_OK ? pick.gateway.id : undefined,
          skipped: pick.invalid.length > 0 ? pick.invalid : undefined,
        },
        'msg server request',
      );
      return;
    }
  });
}
