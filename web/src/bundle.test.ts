import path from 'node:path';
import { build } from 'esbuild';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const options = require('../bundle.config.cjs') as Parameters<typeof build>[0];

describe('the browser bundle', () => {
  it('holds the portable protocol core and none of the Node-only SDK', async () => {
    const result = await build({ ...options, write: false, metafile: true, outfile: 'app.js', sourcemap: false });
    const inputs = Object.keys(result.metafile.inputs).map((p) => p.split(path.sep).join('/'));
    const has = (re: RegExp): boolean => inputs.some((p) => re.test(p));
    expect(has(/libs\/client\/(src|dist)\/client\./)).toBe(true);
    expect(has(/libs\/client\/(src|dist)\/browser-transport\./)).toBe(true);
    expect(has(/libs\/pdu\/(src|dist)\/frame-reader\./)).toBe(true);
    for (const nodeOnly of [/node-transport\./, /libs\/client\/(src|dist)\/gateway\./, /libs\/client\/(src|dist)\/node-client\./, /node_modules\/ws\//, /content-cipher\./, /proto\/(src|dist)\/services\./, /@grpc\//]) {
      expect(inputs.filter((p) => nodeOnly.test(p))).toEqual([]);
    }
  });
});
