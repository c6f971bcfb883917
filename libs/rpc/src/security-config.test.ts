import { ConfigError } from '@tiertalk/config';
import { createLogger } from '@tiertalk/log';
import { isLoopbackHost, rpcSecurityFromConfig, serviceNameOf } from './index';

const logger = createLogger({ service: 'rpc-test', instanceId: 't', level: 'silent' });

describe('rpcSecurityFromConfig', () => {
  const build = (config: Parameters<typeof rpcSecurityFromConfig>[0], bindHost: string | undefined) => () =>
    rpcSecurityFromConfig(config, { service: 'route', bindHost, logger });

  it('allows plaintext only when asked for and on loopback', () => {
    expect(build({ TT_GRPC_INSECURE: true }, '127.0.0.1')().kind).toBe('insecure');
    expect(build({ TT_GRPC_INSECURE: true }, '::1')().kind).toBe('insecure');
    expect(build({ TT_GRPC_INSECURE: true }, '0.0.0.0')).toThrow(ConfigError);
    expect(build({ TT_GRPC_INSECURE: true }, '10.0.0.5')).toThrow(/only allowed on a loopback TT_GRPC_HOST/);
  });

  it('refuses a missing or contradictory TLS setting', () => {
    expect(build({ TT_GRPC_INSECURE: false }, '127.0.0.1')).toThrow(/TT_TLS_CA: expected a PEM file path/);
    expect(build({ TT_GRPC_INSECURE: false, TT_TLS_CA: '/x/ca.crt' }, '127.0.0.1')).toThrow(/TT_TLS_KEY/);
    expect(build({ TT_GRPC_INSECURE: true, TT_TLS_CERT: '/x/a.crt' }, '127.0.0.1')).toThrow(/either TT_GRPC_INSECURE=true or the TLS files/);
    expect(build({ TT_GRPC_INSECURE: false, TT_TLS_CA: '/nonexistent/ca.crt', TT_TLS_CERT: '/nonexistent/a.crt', TT_TLS_KEY: '/nonexistent/a.key' }, '127.0.0.1')).toThrow(
      /cannot read the CA file/,
    );
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', 'db-proxy', '128.0.0.1'].some(isLoopbackHost)).toBe(false);
  });
});

describe('serviceNameOf', () => {
  it('reads the tiertalk SPIFFE URI first, the CN otherwise, and nothing from another trust domain', () => {
    expect(serviceNameOf({ subject: { CN: 'route' } as never, subjectaltname: 'URI:spiffe://tiertalk/msg, DNS:localhost' })).toBe('msg');
    expect(serviceNameOf({ subject: { CN: 'route' } as never, subjectaltname: 'DNS:route' })).toBe('route');
    expect(serviceNameOf({ subject: { CN: 'route' } as never, subjectaltname: 'URI:spiffe://other/route' })).toBeUndefined();
    expect(serviceNameOf({ subject: { CN: 'Route Server' } as never, subjectaltname: '' })).toBeUndefined();
    expect(serviceNameOf(undefined)).toBeUndefined();
  });
});
