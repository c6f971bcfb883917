import * as grpc from '@grpc/grpc-js';
import { createLogger } from '@tiertalk/log';
import { metricsRegistry } from '@tiertalk/metrics';
import {
  CatalogueError,
  ERROR_CATALOGUE,
  ERROR_CODE_KEY,
  bindServer,
  createClient,
  createServer,
  errorCode,
  errorCodeOf,
  insecureLoopback,
  isErrorCodeName,
  rpcError,
  serviceErrorOf,
  statusOf,
  unaryCall,
  unaryHandler,
  type ErrorCodeName,
} from './index';

const logger = createLogger({ service: 'catalogue-test', instanceId: 't', level: 'silent' });
const CODES = Object.keys(ERROR_CATALOGUE).filter(isErrorCodeName);

// A JSON test service: `Fail` throws the catalogue code named in the request.
interface Req {
  code: string;
}
interface Res {
  ok: boolean;
}
const json = {
  ser: (v: unknown): Buffer => Buffer.from(JSON.stringify(v)),
  de: <T>(b: Buffer): T => JSON.parse(b.toString('utf8')) as T,
};
function method(name: string): grpc.MethodDefinition<Req, Res> {
  return {
    path: `/tiertalk.test.Catalogue/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: json.ser,
    requestDeserialize: (b) => json.de<Req>(b),
    responseSerialize: json.ser,
    responseDeserialize: (b) => json.de<Res>(b),
  };
}
const Fail = method('Fail');
const Crash = method('Crash');
const Busy = method('Busy');
const Ok = method('Ok');

class PoolFull extends Error {}

describe('error catalogue', () => {
  it('gives every code a snake_case name, a meaning, an error gRPC status and an HTTP status', () => {
    expect(CODES.length).toBe(Object.keys(ERROR_CATALOGUE).length);
    expect(new Set(CODES).size).toBe(CODES.length);
    for (const code of CODES) {
      const spec = ERROR_CATALOGUE[code];
      expect(code).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(spec.meaning.length).toBeGreaterThan(10);
      expect(spec.grpc).not.toBe(grpc.status.OK);
      expect(grpc.status[spec.grpc]).toBeDefined();
      expect(spec.http).toBeGreaterThanOrEqual(400);
      expect(spec.http).toBeLessThan(600);
    }
  });

  it('reads no code from errors that carry none', () => {
    expect(errorCodeOf(new Error('internal'))).toBeUndefined();
    expect(errorCodeOf(rpcError(grpc.status.INTERNAL, 'internal'))).toBeUndefined();
    const forged = rpcError(grpc.status.INTERNAL, 'x');
    forged.metadata.set(ERROR_CODE_KEY, 'no_such_code');
    expect(errorCodeOf(forged)).toBeUndefined();
    expect(statusOf(rpcError(grpc.status.NOT_FOUND, 'x'))).toBe(grpc.status.NOT_FOUND);
  });

  it('builds the same answer for a per-item code as a unary call gives', () => {
    const err = serviceErrorOf('message_not_member', 'not a member of the group');
    expect(errorCodeOf(err)).toBe('message_not_member');
    expect(errorCode(err)).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toBe('not a member of the group');
  });
});

describe('unaryHandler over a real gRPC server', () => {
  let server: grpc.Server;
  let client: grpc.Client;
  const refused: string[] = [];

  beforeAll(async () => {
    server = createServer({ security: insecureLoopback() });
    const opts = (name: string) => ({
      name,
      log: logger,
      classify: (err: unknown) => (err instanceof PoolFull ? new CatalogueError('db_busy', `${name}: pool full`) : undefined),
      onRefused: (err: CatalogueError, req: Req) => refused.push(`${err.code}:${req.code}`),
    });
    server.addService(
      { Fail, Crash, Busy, Ok },
      {
        Fail: unaryHandler(opts('Fail'), (req: Req) => {
          if (!isErrorCodeName(req.code)) throw new Error('test asked for an unknown code');
          throw new CatalogueError(req.code, `because ${req.code}`);
        }),
        Crash: unaryHandler(opts('Crash'), async () => {
          await Promise.resolve();
          throw new Error('secret internals at /srv/app.js:42');
        }),
        Busy: unaryHandler(opts('Busy'), async () => {
          throw new PoolFull('Queue limit reached.');
        }),
        Ok: unaryHandler(opts('Ok'), (req: Req) => ({ ok: req.code === 'yes' })),
      },
    );
    const port = await bindServer(server, '127.0.0.1', 0);
    client = createClient(`127.0.0.1:${port}`, insecureLoopback(), 'catalogue');
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  const failure = async (m: grpc.MethodDefinition<Req, Res>, code: string): Promise<grpc.ServiceError> => {
    try {
      await unaryCall(client, m, { code }, { deadlineMs: 5000 });
    } catch (err) {
      return err as grpc.ServiceError;
    }
    throw new Error('call succeeded');
  };

  it.each(CODES)('%s round-trips: its status, its code in metadata, the message as details', async (code: ErrorCodeName) => {
    const err = await failure(Fail, code);
    expect(errorCode(err)).toBe(ERROR_CATALOGUE[code].grpc);
    expect(errorCodeOf(err)).toBe(code);
    expect(statusOf(err)).toBe(ERROR_CATALOGUE[code].grpc);
    expect(err.details).toBe(`because ${code}`);
    expect(refused).toContain(`${code}:${code}`);
  });

  it('answers an unexpected failure INTERNAL with a fixed message, counted, never its text or stack', async () => {
    const before = await internalCount('Crash');
    const err = await failure(Crash, 'x');
    expect(errorCode(err)).toBe(grpc.status.INTERNAL);
    expect(errorCodeOf(err)).toBe('internal');
    expect(err.details).toBe('Crash failed');
    expect(JSON.stringify(err.metadata.getMap())).not.toContain('secret');
    expect(await internalCount('Crash')).toBe(before + 1);
  });

  it('answers what classify knows with its code (a full pool is db_busy)', async () => {
    const err = await failure(Busy, 'x');
    expect(errorCode(err)).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(errorCodeOf(err)).toBe('db_busy');
    expect(err.details).toBe('Busy: pool full');
  });

  it('answers a plain (synchronous) result', async () => {
    await expect(unaryCall(client, Ok, { code: 'yes' }, { deadlineMs: 5000 })).resolves.toEqual({ ok: true });
  });
});

async function internalCount(method: string): Promise<number> {
  const metric = await metricsRegistry.getSingleMetric('tt_rpc_internal_errors_total')?.get();
  return metric?.values.find((v) => v.labels.method === method)?.value ?? 0;
}
