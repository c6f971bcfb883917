import { CID, IM, tiertalk } from '@tiertalk/proto';
import { messageEnvelope } from './message-envelope';

const { MSG_TYPE_SINGLE_TEXT, MSG_TYPE_GROUP_AUDIO } = IM.BaseDefine.MsgType;
const stamped = (msgType: IM.BaseDefine.MsgType, to: number): IM.Message.IMMsgData.$Properties => ({
  fromUserId: 7,
  toSessionId: to,
  msgId: 0,
  createTime: 1_700_000_000,
  msgType,
  msgData: Buffer.from('hi'),
});

describe('messageEnvelope', () => {
  it('a 1:1 message: to the peer and the sender, its kind and ids beside the body db-proxy numbered', () => {
    const env = messageEnvelope(stamped(MSG_TYPE_SINGLE_TEXT, 8), 501, [99]);
    expect(env).toMatchObject({
      commandId: CID.CID_MSG_DATA,
      toUserIds: [8, 7],
      kind: tiertalk.MessageKind.MESSAGE_KIND_SINGLE,
      msgId: 501,
      fromUserId: 7,
      toSessionId: 8,
    });
    expect(IM.Message.IMMsgData.decode(env.body)).toMatchObject({ fromUserId: 7, toSessionId: 8, msgId: 501, msgType: MSG_TYPE_SINGLE_TEXT });
    // No sending connection here (the HTTP API sends it as is): nothing of an origin goes on the wire.
    const wire = tiertalk.Envelope.decode(tiertalk.Envelope.encode(env).finish());
    for (const field of ['originGatewayId', 'originConnId', 'fromClientClass']) expect(Object.hasOwn(wire, field)).toBe(false);
  });

  it("a gateway's message names the connection it came from", () => {
    const origin = { originGatewayId: 'gw-1', originConnId: 42, fromClientClass: tiertalk.ClientClass.CLIENT_CLASS_MOBILE };
    const env = messageEnvelope(stamped(MSG_TYPE_SINGLE_TEXT, 8), 503, [], origin);
    expect(tiertalk.Envelope.decode(tiertalk.Envelope.encode(env).finish())).toMatchObject({ ...origin, msgId: 503, toUserIds: [8, 7] });
  });

  it('a group message: to every member at store time, whatever their number', () => {
    const env = messageEnvelope(stamped(MSG_TYPE_GROUP_AUDIO, 900), 502, [7, 8]);
    expect(env).toMatchObject({ toUserIds: [7, 8], kind: tiertalk.MessageKind.MESSAGE_KIND_GROUP, msgId: 502, fromUserId: 7, toSessionId: 900 });
    expect(IM.Message.IMMsgData.decode(env.body).msgId).toBe(502);
  });
});
