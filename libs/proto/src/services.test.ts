import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { DbAdminService, DbProxyService, FileServerService, GatewayService, PushService, RouteService } from './services';
import { IM, CID, commandName, sameClientClass, isMobileClient, clientClassOf, clientClassName, tiertalk } from './index';

const protoDir = path.resolve(__dirname, '../../../proto');
const root = new protobuf.Root();
// imports like "IM.Message.proto" resolve from proto/, as for pbjs -p proto
root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(protoDir, target));
root.loadSync(path.join(protoDir, 'internal/tiertalk.proto'));

describe('gRPC service definitions', () => {
  const defs: Record<string, Record<string, { path: string; requestStream: boolean; responseStream: boolean }>> = {
    DbProxy: DbProxyService,
    DbAdmin: DbAdminService,
    Route: RouteService,
    Gateway: GatewayService,
    PushNotify: PushService,
    FileServer: FileServerService,
  };
  for (const [serviceName, def] of Object.entries(defs)) {
    it(`${serviceName} matches proto/internal/tiertalk.proto`, () => {
      const svc = root.lookupService(`tiertalk.${serviceName}`);
      expect(Object.keys(def).sort()).toEqual(Object.keys(svc.methods).sort());
      for (const [name, m] of Object.entries(svc.methods)) {
        expect(def[name].path).toBe(`/tiertalk.${serviceName}/${name}`);
        expect(def[name].requestStream).toBe(Boolean(m.requestStream));
        expect(def[name].responseStream).toBe(Boolean(m.responseStream));
      }
    });
  }
});

describe('generated PDUs', () => {
  it('encode required fields even when zero or empty (proto2 lite clients reject missing ones)', () => {
    const bytes = IM.Login.IMLoginRes.encode({ serverTime: 0, resultCode: 0 }).finish();
    // field 1 varint 0 and field 2 varint 0
    expect(Buffer.from(bytes).toString('hex')).toBe('08001000');
  });

  it('reject a body missing a required field', () => {
    const onlyUserName = IM.Server.IMValidateReq.encode({ userName: 'a', password: 'b' }).finish().slice(0, 3);
    expect(() => IM.Server.IMValidateReq.decode(onlyUserName)).toThrow(/required/);
  });

  it('names command ids as the spec does', () => {
    expect(CID.CID_MSG_DATA).toBe(0x0301);
    expect(commandName(0x0301)).toBe('CID_MSG_DATA');
    expect(commandName(0x7777)).toBe('0x7777');
  });

  it('classifies client types like TeamTalk', () => {
    const { CLIENT_TYPE_WINDOWS, CLIENT_TYPE_MAC, CLIENT_TYPE_IOS, CLIENT_TYPE_ANDROID } = IM.BaseDefine.ClientType;
    expect(sameClientClass(CLIENT_TYPE_WINDOWS, CLIENT_TYPE_MAC)).toBe(true);
    expect(sameClientClass(CLIENT_TYPE_IOS, CLIENT_TYPE_ANDROID)).toBe(true);
    expect(sameClientClass(CLIENT_TYPE_WINDOWS, CLIENT_TYPE_IOS)).toBe(false);
    expect(isMobileClient(CLIENT_TYPE_ANDROID)).toBe(true);
    expect(isMobileClient(CLIENT_TYPE_MAC)).toBe(false);
  });

  it('names the class a client type sends from, and reads it back for JSON', () => {
    const { CLIENT_TYPE_WINDOWS, CLIENT_TYPE_IOS } = IM.BaseDefine.ClientType;
    const { CLIENT_CLASS_ANY, CLIENT_CLASS_PC, CLIENT_CLASS_MOBILE } = tiertalk.ClientClass;
    expect(clientClassOf(CLIENT_TYPE_WINDOWS)).toBe(CLIENT_CLASS_PC);
    expect(clientClassOf(CLIENT_TYPE_IOS)).toBe(CLIENT_CLASS_MOBILE);
    expect(clientClassName(CLIENT_CLASS_PC)).toBe('pc');
    expect(clientClassName(CLIENT_CLASS_MOBILE)).toBe('mobile');
    expect(clientClassName(CLIENT_CLASS_ANY)).toBeUndefined();
    expect(clientClassName(7)).toBeUndefined();
    expect(clientClassName(undefined)).toBeUndefined();
  });
});
