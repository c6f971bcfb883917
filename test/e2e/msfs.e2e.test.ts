// The msfs file store as a real process in a cluster: login hands it out, a
// TeamTalk client uploads exactly as the stock client does, another downloads
// by the returned path; refusals get TeamTalk's answers and are counted.
import { waitFor, type Cluster } from '@tiertalk/testkit';
import { S3_TEST_CREDENTIALS, startTestS3, type TestS3 } from '../../libs/storage/test/s3-server';
import { send, teamtalkUpload } from '../../services/msfs/test/teamtalk-upload';
import { nextMessage } from './helpers';
import { e2eSuite } from './suite';

jest.setTimeout(60_000);

const MAX_FILE_BYTES = 200_000;
// How TeamTalk clients wrap an image's URL in a text message (android MessageConstant IMAGE_MSG_START/END).
const IMAGE_START = '&$#@~^@[{:';
const IMAGE_END = ':}]&$~@#@';

function picture(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 131 + seed) % 256;
  return b;
}

async function metricsOf(cluster: Cluster, name: string): Promise<string> {
  const port = cluster.instanceInfo().find((i) => i.name === name)?.metricsPort;
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return res.text();
}

function uploads(text: string, result: string): number {
  const m = new RegExp(`^tt_msfs_uploads_total\\{[^}]*result="${result}"[^}]*\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

describe('msfs in a cluster (local directory)', () => {
  const suite = e2eSuite('msfs', { dbProxy: 1, route: 1, msg: 1, msfs: true, login: true, serviceEnv: { msfs: { TT_MSFS_MAX_FILE_BYTES: String(MAX_FILE_BYTES) } } });

  it('is handed out by /msg_server as msfsPrior and msfsBackup', async () => {
    const body = (await (await fetch(suite.cluster.msgServerUrl)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ code: 0, msfsPrior: suite.cluster.msfsUrl, msfsBackup: suite.cluster.msfsUrl });
  });

  it('stores a TeamTalk client upload that another client downloads by the returned path, byte for byte', async () => {
    const { msfsPrior, msfsBackup } = (await (await fetch(suite.cluster.msgServerUrl)).json()) as { msfsPrior: string; msfsBackup: string };
    const bytes = picture(150_000, 3);
    const up = await teamtalkUpload(msfsPrior, 'IMG_0042_800x600.jpg', bytes);
    expect(up.status).toBe(200);
    const answer = JSON.parse(up.body.toString('utf8')) as { error_code: number; error_msg: string; path: string; url: string };
    expect(answer).toMatchObject({ error_code: 0, error_msg: '成功' });
    expect(answer.path).toMatch(/^g0\/\d{3}\/\d{3}\/\d+_\d+_800x600\.jpg$/);
    expect(answer.url).toBe(`${msfsPrior}${answer.path}`);

    // The receiver has only the path from the message and its own /msg_server answer.
    const down = await send(`${msfsBackup}${answer.path}`, undefined);
    expect(down.status).toBe(200);
    expect(down.headers['content-type']).toBe('image/jpg');
    expect(down.body.equals(bytes)).toBe(true);
  });

  it('carries a picture from alice to bob as TeamTalk does: upload, image message with the URL, download', async () => {
    const [gw] = suite.cluster.gateways();
    const alice = await suite.loggedIn(gw, 'alice');
    const bob = await suite.loggedIn(gw, 'bob');
    const { msfsPrior } = (await (await fetch(suite.cluster.msgServerUrl)).json()) as { msfsPrior: string };
    const bytes = picture(60_000, 11);
    const { url } = JSON.parse((await teamtalkUpload(msfsPrior, 'photo.png', bytes)).body.toString('utf8')) as { url: string };
    const arrives = nextMessage(bob);
    await alice.sendText(suite.ids.bob, `${IMAGE_START}${url}${IMAGE_END}`);
    const text = Buffer.from((await arrives).msgData).toString('utf8');
    expect(text.startsWith(IMAGE_START) && text.endsWith(IMAGE_END)).toBe(true);
    const down = await send(text.slice(IMAGE_START.length, -IMAGE_END.length), undefined);
    expect([down.status, down.headers['content-type']]).toEqual([200, 'image/png']);
    expect(down.body.equals(bytes)).toBe(true);
  });

  it('refuses an oversize file and a wrong type with TeamTalk answers, counted in its metrics', async () => {
    const before = await metricsOf(suite.cluster, 'msfs-1');
    const big = await teamtalkUpload(suite.cluster.msfsUrl, 'huge.png', picture(MAX_FILE_BYTES + 1, 5), { chunkBytes: 16 * 1024 });
    expect(big.body.toString('utf8')).toBe('{"error_code":1,"error_msg": "上传文件过大","url":""}');
    const html = await teamtalkUpload(suite.cluster.msfsUrl, 'index.html', Buffer.from('<script>alert(1)</script>'));
    expect(JSON.parse(html.body.toString('utf8'))).toEqual({ error_code: 12, error_msg: '文件类型不允许', path: '', url: '' });
    const after = await metricsOf(suite.cluster, 'msfs-1');
    expect(uploads(after, 'too_large')).toBe(uploads(before, 'too_large') + 1);
    expect(uploads(after, 'type_not_allowed')).toBe(uploads(before, 'type_not_allowed') + 1);
    expect(uploads(after, 'ok')).toBe(uploads(before, 'ok'));
  });

  it('is ready on /readyz and serves nothing outside its store', async () => {
    const port = suite.cluster.instanceInfo().find((i) => i.name === 'msfs-1')?.metricsPort;
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    for (const p of ['../../../etc/passwd', 'g0/000/000/..%2F..%2F..%2Fetc%2Fpasswd', 'g0/000/000/1_1.jpg']) {
      expect((await send(`${suite.cluster.msfsUrl}${p}`, undefined)).status).toBe(404);
    }
  });

  it('is no longer handed out once it stops (it deregisters first)', async () => {
    await suite.cluster.kill('msfs-1', 'SIGTERM');
    await waitFor(
      async () => ((await (await fetch(suite.cluster.msgServerUrl)).json()) as { msfsPrior?: string }).msfsPrior === '',
      10_000,
      { what: 'login to drop the stopped msfs' },
    );
    const body = (await (await fetch(suite.cluster.msgServerUrl)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ code: 0, msfsPrior: '', msfsBackup: '' });
  });
});

describe('msfs in a cluster (S3-compatible storage)', () => {
  let s3: TestS3;

  beforeAll(async () => {
    s3 = await startTestS3('tiertalk-e2e');
  });
  // A function spec: read after the beforeAll above started the S3 server it points at.
  const suite = e2eSuite('msfs-s3', () => ({
    dbProxy: 0,
    route: 0,
    msg: 0,
    msfs: true,
    serviceEnv: {
      msfs: {
        TT_MSFS_STORAGE: 's3',
        TT_MSFS_S3_BUCKET: s3.bucket,
        TT_MSFS_S3_ENDPOINT: s3.endpoint,
        TT_MSFS_S3_FORCE_PATH_STYLE: 'true',
        TT_MSFS_S3_KEY_PREFIX: 'msfs/',
        TT_MSFS_S3_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
        TT_MSFS_S3_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
      },
    },
  }));
  // Declared after e2eSuite, so it runs after the suite stopped msfs.
  afterAll(async () => {
    await s3?.stop();
  });

  it('stores uploads as objects and serves them back', async () => {
    const bytes = picture(7 * 1024 * 1024, 9);
    const up = await teamtalkUpload(suite.cluster.msfsUrl, 'voice.amr', bytes, { chunkBytes: 256 * 1024 });
    const answer = JSON.parse(up.body.toString('utf8')) as { error_code: number; path: string; url: string };
    expect(answer.error_code).toBe(0);
    const down = await send(answer.url, undefined);
    expect([down.status, down.headers['content-type']]).toEqual([200, 'audio/amr']);
    expect(down.body.equals(bytes)).toBe(true);
    // The object itself, read straight from the S3 server under the configured prefix.
    const direct = await send(`${s3.endpoint}/${s3.bucket}/msfs/${answer.path.slice('g0/'.length)}`, undefined);
    expect(direct.status).toBe(200);
    expect(direct.body.equals(bytes)).toBe(true);
  });
});
