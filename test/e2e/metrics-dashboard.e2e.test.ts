// The metrics a user of the Grafana dashboard relies on (docs/METRICS.md):
// every metric the dashboard queries is served by some service of a running
// cluster, and after a login, a 1:1 message and a group message the counters
// an operator would expect to move did, on the service that owns them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isClientError } from '@tiertalk/client';
import { AdminService, HttpApiService, repoRoot, waitFor } from '@tiertalk/testkit';
import { connect, loggedIn, nextMessage } from './helpers';
import { e2eSuite } from './suite';
import { type Exposition, parseExposition, promqlMetricNames, seriesNames, sumOf } from './prometheus-text';

jest.setTimeout(90_000);

const DASHBOARD = path.join(repoRoot, 'deploy/grafana/tiertalk-dashboard.json');

const suite = e2eSuite('metrics-dashboard', { dbProxy: 1, route: 1, msg: 1, login: true, push: 1 });
let admin: AdminService;
let httpApi: HttpApiService;

beforeAll(async () => {
  // The admin HTTP service (services/admin) has its own panel.
  admin = await AdminService.start(suite.cluster, { token: 'dashboard-e2e-admin-token-0123456789abcdef' });
  // So is the send API (services/http-api).
  httpApi = await HttpApiService.start(suite.cluster, { token: 'dashboard-e2e-http-api-token-0123456789abcdef' });
});

afterAll(async () => {
  await admin?.stop();
  await httpApi?.stop();
});

/** Every instance's /metrics, by service (one instance each here), found through the port its etcd entry publishes; and the admin service's. */
async function scrapeAll(): Promise<Map<string, Exposition>> {
  const out = new Map<string, Exposition>();
  for (const inst of suite.cluster.instanceInfo()) {
    if (inst.metricsPort === undefined) throw new Error(`${inst.name} publishes no metrics port`);
    const res = await fetch(`http://127.0.0.1:${inst.metricsPort}/metrics`);
    expect(res.status).toBe(200);
    out.set(inst.service, parseExposition(await res.text()));
  }
  const res = await fetch(`${admin.metricsUrl}/metrics`);
  expect(res.status).toBe(200);
  out.set('admin', parseExposition(await res.text()));
  const api = await fetch(`${httpApi.metricsUrl}/metrics`);
  expect(api.status).toBe(200);
  out.set('http-api', parseExposition(await api.text()));
  return out;
}

function of(scrapes: Map<string, Exposition>, service: string): Exposition {
  const e = scrapes.get(service);
  if (!e) throw new Error(`no scrape of ${service}`);
  return e;
}

interface DashboardPanel {
  title?: string;
  targets?: Array<{ expr?: string }>;
  panels?: DashboardPanel[];
}

function dashboardExprs(): Array<{ panel: string; expr: string }> {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: DashboardPanel[] };
  const out: Array<{ panel: string; expr: string }> = [];
  const visit = (p: DashboardPanel): void => {
    for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title ?? '?', expr: t.expr });
    for (const child of p.panels ?? []) visit(child);
  };
  dashboard.panels.forEach(visit);
  return out;
}

describe('Grafana dashboard (deploy/grafana/tiertalk-dashboard.json)', () => {
  it('queries only metrics that some service of a running cluster exports', async () => {
    const exported = new Set<string>();
    for (const e of (await scrapeAll()).values()) for (const n of seriesNames(e)) exported.add(n);
    const exprs = dashboardExprs();
    expect(exprs.length).toBeGreaterThan(20);
    const missing: string[] = [];
    const queried = new Set<string>();
    for (const { panel, expr } of exprs) {
      const names = promqlMetricNames(expr);
      expect(names.length).toBeGreaterThan(0);
      for (const n of names) {
        queried.add(n);
        if (!exported.has(n)) missing.push(`${panel}: ${n}`);
      }
    }
    expect(missing).toEqual([]);
    // The list: each has a panel.
    for (const n of [
      'tt_msg_connections_open',
      'tt_msg_logins_total',
      'tt_msg_messages_received_total',
      'tt_msg_messages_acked_total',
      'tt_msg_messages_refused_total',
      'tt_store_commit_batch_messages_bucket',
      'tt_store_commit_duration_seconds_bucket',
      'tt_store_commit_queue_messages',
      'tt_route_envelopes_routed_total',
      'tt_route_pushes_total',
      'tt_msg_group_push_queue_deliveries',
      'tt_msg_group_push_shed_total',
      'tt_grpc_server_handled_total',
      'tt_grpc_server_handling_seconds_bucket',
      'tt_grpc_client_handled_total',
      'tt_registry_registered',
      'tt_mysql_errors_total',
      'tt_redis_errors_total',
      'tt_admin_http_requests_total',
      'tt_admin_http_request_duration_seconds_bucket',
      'tt_http_api_requests_total',
      'tt_http_api_messages_total',
      'tt_http_api_request_duration_seconds_bucket',
    ]) {
      expect(queried).toContain(n);
    }
  });
});

describe('counters after a login, a 1:1 message and a group message', () => {
  it('moved on the service that owns each', async () => {
    const [gw] = suite.cluster.gateways();
    const before = await scrapeAll();

    // One refused login, two good ones.
    const stranger = await connect(gw);
    suite.track(stranger);
    await expect(stranger.login('alice', 'not-the-password')).rejects.toThrow();
    const alice = await loggedIn(gw, 'alice');
    const bob = await loggedIn(gw, 'bob');
    for (const c of [alice, bob]) suite.track(c);
    expect((await fetch(suite.cluster.msgServerUrl)).status).toBe(200);

    const aliceId = alice.userId ?? 0;
    const bobId = bob.userId ?? 0;
    const got1 = nextMessage(bob);
    await alice.sendText(bobId, 'metrics 1:1');
    await got1;
    const { groupId } = await alice.groups.createGroup('metrics', '', [aliceId, bobId]);
    const got2 = nextMessage(bob);
    await alice.groups.sendGroupText(groupId, 'metrics group');
    await got2;

    const after = await scrapeAll();
    const moved = (service: string, name: string, labels: Record<string, string> = {}): number =>
      sumOf(of(after, service), name, labels) - sumOf(of(before, service), name, labels);

    // Gateway (msg)
    expect(moved('msg', 'tt_msg_logins_total', { result: 'ok' })).toBe(2);
    expect(moved('msg', 'tt_msg_logins_total', { result: 'wrong_password' })).toBe(1);
    expect(sumOf(of(after, 'msg'), 'tt_msg_connections_open', { transport: 'tcp', client_type: 'windows' })).toBe(2);
    expect(moved('msg', 'tt_msg_messages_received_total', { session_type: 'single' })).toBe(1);
    expect(moved('msg', 'tt_msg_messages_acked_total', { session_type: 'single' })).toBe(1);
    expect(moved('msg', 'tt_msg_messages_received_total', { session_type: 'group' })).toBe(1);
    expect(moved('msg', 'tt_msg_messages_acked_total', { session_type: 'group' })).toBe(1);
    expect(moved('msg', 'tt_msg_messages_refused_total')).toBe(0);
    expect(moved('msg', 'tt_msg_message_ack_seconds_count')).toBe(2);
    expect(moved('msg', 'tt_msg_group_push_deliveries_total')).toBeGreaterThanOrEqual(1);
    // The three logins rode the gateway's ValidateStream (one batch per event-loop turn).
    expect(moved('msg', 'tt_grpc_client_stream_messages_total', { method: 'tiertalk.DbProxy/ValidateStream', direction: 'sent' })).toBeGreaterThanOrEqual(1);
    expect(moved('msg', 'tt_grpc_client_stream_messages_total', { method: 'tiertalk.DbProxy/ValidateStream', direction: 'received' })).toBeGreaterThanOrEqual(1);
    expect(moved('msg', 'tt_grpc_client_stream_messages_total', { method: 'tiertalk.DbProxy/StoreMessages', direction: 'sent' })).toBeGreaterThanOrEqual(1);

    // Store (db-proxy): the two messages were group-committed in one or two batches.
    expect(moved('db-proxy', 'tt_store_commit_batch_messages_count')).toBeGreaterThanOrEqual(1);
    expect(moved('db-proxy', 'tt_store_commit_batch_messages_sum')).toBe(2);
    expect(moved('db-proxy', 'tt_store_commit_duration_seconds_count', { outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(moved('db-proxy', 'tt_grpc_server_stream_messages_total', { method: 'tiertalk.DbProxy/ValidateStream', direction: 'received' })).toBeGreaterThanOrEqual(1);
    expect(moved('db-proxy', 'tt_grpc_server_stream_messages_total', { method: 'tiertalk.DbProxy/StoreMessages', direction: 'received' })).toBeGreaterThanOrEqual(1);

    // Route: both messages routed, pushed to the one gateway (labelled with its instance id).
    const gateway = suite.cluster.instanceInfo().find((i) => i.service === 'msg')?.name ?? '';
    await waitFor(async () => sumOf(of(await scrapeAll(), 'route'), 'tt_route_pushes_total', { gateway }) > sumOf(of(before, 'route'), 'tt_route_pushes_total', { gateway }), 5_000, {
      what: 'route counted its pushes',
    });
    const routeNow = of(await scrapeAll(), 'route');
    expect(sumOf(routeNow, 'tt_route_envelopes_routed_total', { kind: 'direct' }) - sumOf(of(before, 'route'), 'tt_route_envelopes_routed_total', { kind: 'direct' })).toBeGreaterThanOrEqual(2);
    expect(sumOf(routeNow, 'tt_grpc_server_stream_messages_total', { method: 'tiertalk.Route/LoginStream', direction: 'received' })).toBeGreaterThanOrEqual(1);

    // Every instance holds its etcd registration; login handed out a gateway.
    for (const [service, e] of after) expect([service, sumOf(e, 'tt_registry_registered')]).toEqual([service, 1]);
    expect(moved('login', 'tt_login_msg_server_requests_total', { result: 'ok' })).toBe(1);
    // Nothing failed underneath.
    for (const e of after.values()) expect(e.samples.filter((s) => s.name === 'tt_redis_errors_total')).toEqual([]);
    expect(sumOf(of(after, 'db-proxy'), 'tt_mysql_errors_total') - sumOf(of(after, 'db-proxy'), 'tt_mysql_errors_total', { code: 'ER_DUP_ENTRY' })).toBe(0);
  });
});

describe('logins by result', () => {
  it('counts wrong passwords and the lockout that follows them', async () => {
    const [gw] = suite.cluster.gateways();
    const msgMetrics = async (): Promise<Exposition> => of(await scrapeAll(), 'msg');
    const before = await msgMetrics();
    const answers: string[] = [];
    // TT_LOGIN_FAIL_LIMIT (10 by default) wrong guesses, then the name is locked for this address.
    for (let i = 0; i < 20 && !answers.some((a) => /too many/.test(a)); i++) {
      const c = await connect(gw);
      try {
        await c.login('carol', `wrong-${i}`);
        throw new Error('a wrong password logged in');
      } catch (err) {
        if (!isClientError(err) || err.code !== 'LOGIN_REFUSED') throw err;
        answers.push(err.resultString ?? '');
      } finally {
        c.close();
      }
    }
    const after = await msgMetrics();
    const wrong = answers.filter((a) => a === 'wrong user name or password').length;
    expect(wrong).toBeGreaterThan(0);
    expect(answers.length - wrong).toBe(1);
    expect(sumOf(after, 'tt_msg_logins_total', { result: 'wrong_password' }) - sumOf(before, 'tt_msg_logins_total', { result: 'wrong_password' })).toBe(wrong);
    expect(sumOf(after, 'tt_msg_logins_total', { result: 'locked' }) - sumOf(before, 'tt_msg_logins_total', { result: 'locked' })).toBe(1);
    expect(sumOf(after, 'tt_msg_logins_total', { result: 'error' }) - sumOf(before, 'tt_msg_logins_total', { result: 'error' })).toBe(0);
  });
});
