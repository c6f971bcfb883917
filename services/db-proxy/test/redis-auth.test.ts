// db-proxy's Redis connections take credentials from the URL (ioredis):
// `redis://:password@…` for requirepass and `redis://user:password@…` for an
// ACL user, against a private redis-server that refuses anonymous clients.
import { Redis } from 'ioredis';
import { PrivateRedis } from '@tiertalk/testkit';
import { createRedisInstances } from '../src/store/redis';

let server: PrivateRedis;

beforeAll(async () => {
  server = await PrivateRedis.start();
  const admin = new Redis(server.url());
  await admin.call('ACL', 'SETUSER', 'svc', 'on', '>acl-pw', '~*', '&*', '+@all', '-@dangerous', '+info');
  await admin.config('SET', 'requirepass', 'pass-pw');
  admin.disconnect();
});
afterAll(async () => {
  await server?.destroy();
});

const urlOf = (auth: string, db: number): string => `redis://${auth}@127.0.0.1:${server.port}/${db}`;

it.each([
  ['requirepass', ':pass-pw'],
  ['an ACL user', 'svc:acl-pw'],
])('connects with %s from the URL and uses the URL db', async (_what, auth) => {
  const instances = createRedisInstances({
    unread: urlOf(auth, 1),
    groupSet: urlOf(auth, 1),
    token: urlOf(auth, 1),
    sync: urlOf(auth, 2),
    groupMember: urlOf(auth, 1),
  });
  try {
    await instances.unread.set('probe', auth);
    expect(await instances.unread.get('probe')).toBe(auth);
    expect(await instances.sync.get('probe')).toBeNull();
  } finally {
    await instances.close();
  }
});

it('a wrong password is refused', async () => {
  const wrong = new Redis(urlOf('svc:nope', 1), { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  const errors: Error[] = [];
  wrong.on('error', (err: Error) => errors.push(err));
  await expect(wrong.connect()).rejects.toThrow();
  expect(errors.map((e) => e.message).join('\n')).toMatch(/WRONGPASS/);
  wrong.disconnect();
});
