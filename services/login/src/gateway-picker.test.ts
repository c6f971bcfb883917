import type { InstanceInfo } from '@tiertalk/registry';
import { PICK_FULL, PICK_NONE, PICK_OK, pickGateway, readGateway } from './gateway-picker';

function gw(id: string, curConn: number, maxConn = 100, extra: Record<string, string | number> = {}): InstanceInfo {
  return {
    id,
    service: 'msg',
    addr: '127.0.0.1:8300',
    load: curConn,
    meta: { ip1: `10.0.0.${id.length}`, ip2: `192.168.0.${id.length}`, port: 8000, wsPort: 8400, maxConn, curConn, ...extra },
  };
}

function pickedId(instances: InstanceInfo[]): string | undefined {
  const pick = pickGateway(instances);
  return pick.code === PICK_OK ? pick.gateway.id : undefined;
}

describe('pickGateway', () => {
  it('returns code 1 when no gateway is registered', () => {
    expect(pickGateway([])).toEqual({ code: PICK_NONE, invalid: [] });
  });

  it('picks the gateway with the fewest connections', () => {
    expect(pickedId([gw('a', 7), gw('b', 2), gw('c', 5)])).toBe('b');
  });

  it('returns the endpoint the client needs', () => {
    const pick = pickGateway([gw('msg-1', 3, 10, { ip1: '1.1.1.1', ip2: '2.2.2.2', port: 8001 })]);
    expect(pick).toEqual({
      code: PICK_OK,
      gateway: { id: 'msg-1', ip1: '1.1.1.1', ip2: '2.2.2.2', port: 8001, wsPort: 8400, curConn: 3, maxConn: 10 },
      invalid: [],
    });
  });

  it('breaks ties at random, whatever the input order', () => {
    const tied = [gw('c', 1), gw('b', 1), gw('d', 1), gw('a', 2)];
    // random() below 1/n replaces the choice with the n-th tied gateway (reservoir sampling).
    expect(pickGateway(tied, { random: () => 0.99 })).toMatchObject({ gateway: { id: 'c' } });
    expect(pickGateway(tied, { random: () => 0 })).toMatchObject({ gateway: { id: 'd' } });
    const seen = new Set<string | undefined>();
    for (let i = 0; i < 200; i++) seen.add(pickedId(tied));
    expect([...seen].sort()).toEqual(['b', 'c', 'd']);
  });

  it('adds pending hand-outs to the reported load, and counts them against maxConn', () => {
    const pending = (counts: Record<string, number>) => ({ pending: (g: { id: string }) => counts[g.id] ?? 0 });
    expect(pickGateway([gw('a', 2), gw('b', 5)], pending({ a: 4 }))).toMatchObject({ gateway: { id: 'b' } });
    expect(pickGateway([gw('a', 2, 10), gw('b', 5, 10)], pending({ a: 1, b: 5 }))).toMatchObject({ gateway: { id: 'a' } });
    expect(pickGateway([gw('a', 8, 10)], pending({ a: 2 }))).toEqual({ code: PICK_FULL, invalid: [] });
  });

  it('skips full gateways even when they are the least loaded', () => {
    expect(pickedId([gw('a', 10, 10), gw('b', 50, 100)])).toBe('b');
    expect(pickedId([gw('a', 11, 10), gw('b', 99, 100)])).toBe('b');
  });

  it('returns code 2 when every gateway is full', () => {
    expect(pickGateway([gw('a', 10, 10), gw('b', 3, 3), gw('c', 0, 0)])).toEqual({ code: PICK_FULL, invalid: [] });
  });

  it('ignores entries with unusable meta and lists them', () => {
    const bad = [
      { ...gw('no-ip', 0), meta: { ip2: '1.1.1.1', port: 8000, maxConn: 10, curConn: 0 } },
      gw('empty-ip', 0, 10, { ip1: '' }),
      gw('port-0', 0, 10, { port: 0 }),
      gw('port-big', 0, 10, { port: 70000 }),
      gw('port-text', 0, 10, { port: 'eight' }),
      gw('neg-cur', 0, 10, { curConn: -1 }),
      gw('frac-cur', 0, 10, { curConn: 0.5 }),
      { ...gw('no-max', 0), meta: { ip1: 'a', ip2: 'b', port: 8000, curConn: 0 } },
      gw('ip-number', 0, 10, { ip1: 12 }),
      gw('tls-port-0', 0, 10, { tlsPort: 0 }),
      gw('tls-port-text', 0, 10, { tlsPort: 'x' }),
      gw('port-0-tls-0', 0, 10, { port: 0, tlsPort: 0 }),
    ];
    const pick = pickGateway([...bad, gw('good', 9)]);
    expect(pick.code).toBe(PICK_OK);
    expect(pick.code === PICK_OK && pick.gateway.id).toBe('good');
    expect([...pick.invalid].sort()).toEqual(bad.map((b) => b.id).sort());
  });

  it('returns code 1 when only unusable entries exist', () => {
    expect(pickGateway([gw('x', 0, 10, { port: 'x' })])).toEqual({ code: PICK_NONE, invalid: ['x'] });
  });

  it('accepts numbers published as decimal strings', () => {
    expect(readGateway(gw('s', 0, 0, { port: '8000', curConn: '4', maxConn: '5' }))).toMatchObject({ port: 8000, curConn: 4, maxConn: 5 });
    expect(readGateway(gw('s', 0, 0, { curConn: '4.5' }))).toBeUndefined();
  });

  it('reads the TLS port, and accepts port 0 (plain TCP off) only next to one', () => {
    expect(readGateway(gw('t', 0, 10, { tlsPort: 8443 }))).toMatchObject({ port: 8000, tlsPort: 8443 });
    expect(readGateway(gw('t', 0, 10, { port: 0, tlsPort: '8443' }))).toMatchObject({ port: 0, tlsPort: 8443 });
    expect(readGateway(gw('t', 0, 10))).not.toHaveProperty('tlsPort');
  });

  it('reads the WebSocket port; a bad one leaves the gateway to TCP clients', () => {
    expect(readGateway(gw('w', 0, 10, { wsPort: '8400' }))).toMatchObject({ port: 8000, wsPort: 8400 });
    expect(readGateway(gw('w', 0, 10, { wsPort: '8400' }))).not.toHaveProperty('wss');
    expect(readGateway(gw('w', 0, 10, { wsPort: 8400, wss: 1 }))).toMatchObject({ wsPort: 8400, wss: true });
    for (const wsPort of [0, 70000, 'x']) {
      const gateway = readGateway(gw('w', 0, 10, { wsPort }));
      expect(gateway).toMatchObject({ port: 8000 });
      expect(gateway).not.toHaveProperty('wsPort');
    }
  });
});
