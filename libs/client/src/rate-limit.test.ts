// The gateway answers a message over its per-connection rate limit with
// IMMsgDataAck{msg_id = 0} (docs/FLOWS.md §3), as it answers a message it could not
// store; the SDK turns that into NOT_STORED.
import { CID, IM } from '@tiertalk/proto';
import { SELF, acceptLogin, startTcpServer, type FakeServer } from '../test/fake-gateway';
import { TeamTalkClient } from './node-client';
import { ClientError } from './errors';

function ack(msgId: number, to: number, sessionType = IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE): Uint8Array {
  return IM.Message.IMMsgDataAck.encode({ userId: SELF, sessionId: to, msgId, sessionType }).finish();
}

describe('TeamTalkClient rate-limited sends', () => {
  let server: FakeServer;
  let client: TeamTalkClient;

  beforeEach(async () => {
    server = await startTcpServer();
    client = await TeamTalkClient.connect({ host: '127.0.0.1', port: server.port, heartbeatMs: 0 });
  });
  afterEach(async () => {
    client.close();
    await server.close();
  });

  it('rejects sendText and sendAudio with NOT_STORED on an ACK with msg_id 0, resolves a real id', async () => {
    const conn = await server.nextConn();
    await Promise.all([client.login('alice', 'secret'), acceptLogin(conn)]);

    const refused = client.sendText(2002, 'one too many');
    const f1 = await conn.next(CID.CID_MSG_DATA);
    conn.send(CID.CID_MSG_DATA_ACK, f1.seqNum, ack(0, 2002));
    await expect(refused).rejects.toBeInstanceOf(ClientError);
    await expect(refused).rejects.toMatchObject({ code: 'NOT_STORED' });

    const audio = client.sendAudio(2002, 3, Buffer.from('ogg'));
    const f2 = await conn.next(CID.CID_MSG_DATA);
    conn.send(CID.CID_MSG_DATA_ACK, f2.seqNum, ack(0, 2002));
    await expect(audio).rejects.toMatchObject({ code: 'NOT_STORED' });

    const ok = client.sendText(2002, 'fine');
    const f3 = await conn.next(CID.CID_MSG_DATA);
    conn.send(CID.CID_MSG_DATA_ACK, f3.seqNum, ack(12, 2002));
    await expect(ok).resolves.toMatchObject({ msgId: 12 });
    expect(client.pendingCount).toBe(0);
  });
});
