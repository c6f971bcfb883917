import { Counter, metricsRegistry } from '@tiertalk/metrics';
import { PICK_FULL, PICK_NONE, PICK_OK } from './gateway-picker';

const answers = new Counter({
  name: 'tt_login_msg_server_requests_total',
  help: 'GET /msg_server answers by result: ok (a gateway handed out), no_gateway (none registered), all_full (every gateway at its maxConn)',
  labelNames: ['result'] as const,
  registers: [metricsRegistry],
});
for (const result of ['ok', 'no_gateway', 'all_full']) answers.inc({ result }, 0);

const RESULTS = { [PICK_OK]: 'ok', [PICK_NONE]: 'no_gateway', [PICK_FULL]: 'all_full' } as const;

/** Counts one answer by its pick's code. */
export function countMsgServerAnswer(code: keyof typeof RESULTS): void {
  answers.inc({ result: RESULTS[code] });
}
