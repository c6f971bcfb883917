import type { InstanceInfo } from '@tiertalk/registry';
import { GatewayBalancer } from './gateway-balancer';
import { PICK_FULL, PICK_OK, type GatewayPick } from './gateway-picker';

function gw(id: string, curConn: number, maxConn = 10_000): InstanceInfo {
  return { id, service: 'msg', addr: '127.0.0.1:8300', load: curConn, meta: { ip1: '10.0.0.1', ip2: '10.0.0.2', port: 8000, maxConn, curConn } };
}

function idOf(pick: GatewayPick): string | undefined {
  return pick.code === PICK_OK ? pick.gateway.id : undefined;
}

/** How many of `n` picks over `instances` went to each gateway. */
function burst(balancer: GatewayBalancer, instances: InstanceInfo[], n: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const id = idOf(balancer.pick(instances)) ?? 'none';
    counts[id] = (counts[id] ?? 0) + 1;
  }
  return counts;
}

describe('GatewayBalancer', () => {
  it('splits a burst of 1,000 picks over two equal gateways evenly', () => {
    expect(burst(new GatewayBalancer(), [gw('msg-1', 40), gw('msg-2', 40)], 1000)).toEqual({ 'msg-1': 500, 'msg-2': 500 });
  });

  it('fills the emptier gateway up to the other one first', () => {
    // 30 hand-outs bring msg-2 level with msg-1; the remaining 70 alternate.
    expect(burst(new GatewayBalancer(), [gw('msg-1', 50), gw('msg-2', 20)], 100)).toEqual({ 'msg-1': 35, 'msg-2': 65 });
  });

  it('never picks a full gateway, nor hands out more than a gateway can take', () => {
    const balancer = new GatewayBalancer();
    expect(burst(balancer, [gw('full', 10, 10), gw('over', 12, 10), gw('small', 0, 3)], 5)).toEqual({ small: 3, none: 2 });
    expect(balancer.pick([gw('full', 10, 10), gw('small', 0, 3)]).code).toBe(PICK_FULL);
  });

  it('starts counting afresh when a new load report arrives', () => {
    const balancer = new GatewayBalancer();
    burst(balancer, [gw('msg-1', 0), gw('msg-2', 100)], 60);
    expect(balancer.handedOut(readable('msg-1', 0))).toBe(60);
    // msg-1 now reports the 60 clients as connected: the count restarts from the report.
    expect(balancer.handedOut(readable('msg-1', 60))).toBe(0);
    expect(burst(balancer, [gw('msg-1', 60), gw('msg-2', 100)], 40)).toEqual({ 'msg-1': 40 });
    // Those 40 still count: 60 + 40 is more than msg-2's 99.
    expect(idOf(balancer.pick([gw('msg-1', 60), gw('msg-2', 99)]))).toBe('msg-2');
  });

  it('forgets hand-outs no report confirmed within the window', () => {
    let now = 1_000;
    const balancer = new GatewayBalancer({ windowMs: 5_000, now: () => now });
    expect(burst(balancer, [gw('small', 1, 3)], 3)).toEqual({ small: 2, none: 1 });
    now += 4_999;
    expect(balancer.pick([gw('small', 1, 3)]).code).toBe(PICK_FULL);
    now += 1;
    expect(idOf(balancer.pick([gw('small', 1, 3)]))).toBe('small');
  });

  it('drops a gateway that leaves etcd, so its return starts from zero', () => {
    const balancer = new GatewayBalancer();
    burst(balancer, [gw('msg-1', 0), gw('msg-2', 100)], 100);
    expect(balancer.handedOut(readable('msg-1', 0))).toBe(100);
    expect(idOf(balancer.pick([gw('msg-2', 100)]))).toBe('msg-2');
    expect(balancer.handedOut(readable('msg-1', 0))).toBe(0);
    expect(idOf(balancer.pick([gw('msg-1', 0), gw('msg-2', 100)]))).toBe('msg-1');
  });
});

function readable(id: string, curConn: number) {
  return { id, ip1: '10.0.0.1', ip2: '10.0.0.2', port: 8000, curConn, maxConn: 10_000 };
}
