import { bucketOf, summarise } from './profile-summary';

describe('cpu profile summary', () => {
  it('charges self time to packages, project folders and native buckets, leaving idle out of busy', () => {
    const s = summarise('x.cpuprofile', {
      nodes: [
        { id: 1, callFrame: { functionName: '(idle)', url: '' } },
        { id: 2, callFrame: { functionName: 'encode', url: 'file:///work/main/node_modules/protobufjs/src/writer.js' } },
        { id: 3, callFrame: { functionName: 'onMsgData', url: 'file:///work/main/services/msg/dist/handlers/message/msg-data.js' } },
        { id: 4, callFrame: { functionName: 'writeBuffer', url: '' } },
      ],
      samples: [1, 2, 3, 3, 4, 1],
      timeDeltas: [1000, 2000, 3000, 3000, 4000, 1000],
    });
    expect(s.wallMs).toBe(14);
    expect(s.busyMs).toBe(12);
    expect(s.buckets).toEqual([
      { name: 'services/msg', ms: 6 },
      { name: 'writeBuffer', ms: 4 },
      { name: 'protobufjs', ms: 2 },
    ]);
    expect(bucketOf({ functionName: 'x', url: 'file:///a/node_modules/@grpc/grpc-js/build/src/x.js' })).toBe('@grpc/grpc-js');
  });
});
