// Integration: legacy TCP discovery (docs/FLOWS.md §14 D5) against gateways registered in a real etcd.
import net from 'node:net';
import { createLogger } from '@tiertalk/log';
import { Frame, FrameReader, encodeFrame } from '@tiertalk/pdu';
import { CID, IM, SID } from '@tiertalk/proto';
import { Registration, Registry, ServiceWatch } from '@tiertalk/registry';
import { deletePrefix, testConfig, uniquePrefix, waitFor } from '@tiertalk/testkit';
import { GatewayBalancer } from './gateway-balancer';
import { LegacyTcpServer, startLegacyTcpServer } from './legacy-tcp';

interface Session {
  frames: Frame[];
  /** Bytes received that did not form frames. */
  leftover: number;
  closed: boolean;
}

/** Writes the PDUs, then collects replies until the server closes or `waitMs` passes. */
function talk(port: number, pdus: Buffer[], waitMs = 2000): Promise<Session> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const reader = new FrameReader();
    const frames: Frame[] = [];
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ frames, leftover: reader.bufferedBytes, closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    sock.on('data', (d: Buffer) => frames.push(...reader.push(d)));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
    });
    sock.on('close', () => finish(true));
    sock.on('connect', () => {
      for (const p of pdus) sock.write(p);
    });
  });
}

const msgServReq = (seq: number): Buffer => encodeFrame(SID.SID_LOGIN, CID.CID_LOGIN_REQ_MSGSERVER, seq, new Uint8Array(0));

function onlyReply(s: Session, seq: number): IM.Login.IMMsgServRsp {
  expect(s.closed).toBe(true);
  expect(s.frames).toHaveLength(1);
  const [f] = s.frames;
  expect({ sid: f.serviceId, cid: f.commandId, seq: f.seqNum }).toEqual({ sid: SID.SID_LOGIN, cid: CID.CID_LOGIN_RES_MSGSERVER, seq });
  return IM.Login.IMMsgServRsp.decode(f.body);
}

describe('legacy TCP msg-server discovery', () => {
  const prefix = uniquePrefix();
  const logger = createLogger({ service: 'login', instanceId: 'login-test', level: 'silent' });
  let registry: Registry;
  let watch: ServiceWatch;
  let server: LegacyTcpServer;
  // Fresh per test: it counts the addresses it handed out, which would carry over.
  let balancer = new GatewayBalancer();
  let port: number;
  const regs: Registration[] = [];

  beforeAll(async () => {
    registry = await Registry.connect({ endpoints: [...testConfig.etcdEndpoints], prefix, leaseTtlSec: 5, logger });
    watch = await registry.watch('msg');
    server = await startLegacyTcpServer({ host: '127.0.0.1', port: 0, pick: () => balancer.pick(watch.list()), logger, idleTimeoutMs: 300 });
    port = server.address.port;
  });

  afterAll(async () => {
    await server?.close(500);
    await Promise.all(regs.map((r) => r.deregister()));
    await registry?.close();
    await deletePrefix(prefix);
  });

  // Each test registers the gateways it needs: none are left from an earlier test,
  // so any one test runs alone (`-t`) or in any order.
  beforeEach(async () => {
    balancer = new GatewayBalancer();
    await Promise.all(regs.splice(0).map((r) => r.deregister()));
    await waitFor(() => watch.size === 0, 5000, { what: 'no gateway in the watch' });
  });

  /** Two gateways with room: tcp-a (4 of 10) on 8001, tcp-b (2 of 10, least loaded) on 8002. */
  async function twoGateways(curConn: [number, number] = [4, 2]): Promise<void> {
    await addGateway('tcp-a', curConn[0], 10, 8001);
    await addGateway('tcp-b', curConn[1], 10, 8002);
    await waitFor(() => watch.size === 2 && watch.list().every((i) => i.meta.curConn === (i.id === 'tcp-a' ? curConn[0] : curConn[1])), 5000, { what: 'both gateways in the watch' });
  }

  async function addGateway(id: string, curConn: number, maxConn: number, gwPort: number): Promise<Registration> {
    const reg = await registry.register({
      id,
      service: 'msg',
      addr: '127.0.0.1:1',
      load: curConn,
      meta: { ip1: `10.1.0.${gwPort - 8000}`, ip2: `172.17.0.${gwPort - 8000}`, port: gwPort, wsPort: 8400, maxConn, curConn },
    });
    regs.push(reg);
    return reg;
  }

  it('answers result 1 when no gateway is registered, with the request seq, then closes', async () => {
    const rsp = onlyReply(await talk(port, [msgServReq(41)]), 41);
    expect(rsp.resultCode).toBe(IM.BaseDefine.ResultType.REFUSE_REASON_NO_MSG_SERVER);
  });

  it('answers the least-loaded gateway, ip1 first', async () => {
    await twoGateways();
    const rsp = onlyReply(await talk(port, [msgServReq(7)]), 7);
    expect(rsp.resultCode).toBe(IM.BaseDefine.ResultType.REFUSE_REASON_NONE);
    expect({ prior: rsp.priorIp, backup: rsp.backipIp, port: rsp.port }).toEqual({ prior: '10.1.0.2', backup: '172.17.0.2', port: 8002 });
  });

  it('ignores other commands, answers the request after them in the same segment', async () => {
    await twoGateways();
    const heartbeat = encodeFrame(SID.SID_OTHER, CID.CID_OTHER_HEARTBEAT, 1, new Uint8Array(0));
    const rsp = onlyReply(await talk(port, [Buffer.concat([heartbeat, msgServReq(9)])]), 9);
    expect(rsp.port).toBe(8002);
  });

  it('handles a request split across segments', async () => {
    await twoGateways();
    const req = msgServReq(3);
    expect(onlyReply(await talk(port, [req.subarray(0, 5), req.subarray(5)]), 3).port).toBe(8002);
  });

  it('answers result 2 when every gateway is full', async () => {
    await twoGateways([10, 10]);
    const rsp = onlyReply(await talk(port, [msgServReq(5)]), 5);
    expect(rsp.resultCode).toBe(IM.BaseDefine.ResultType.REFUSE_REASON_MSG_SERVER_FULL);
  });

  it('closes on a PDU with length 0 (F3) or an oversized one', async () => {
    const zero = Buffer.alloc(16);
    const s1 = await talk(port, [zero]);
    expect(s1).toMatchObject({ closed: true, frames: [] });
    const huge = Buffer.alloc(16);
    huge.writeUInt32BE(1 << 20, 0);
    const s2 = await talk(port, [huge]);
    expect(s2).toMatchObject({ closed: true, frames: [] });
  });

  it('closes an idle connection', async () => {
    const s = await talk(port, [], 3000);
    expect(s).toMatchObject({ closed: true, frames: [] });
  });
});
