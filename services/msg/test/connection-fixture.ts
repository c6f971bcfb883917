// Shared by the Connection unit tests: generous limits that no test trips by accident.
import type { ConnectionLimits } from '../src/config';

export const TEST_CONNECTION_LIMITS: ConnectionLimits = {
  maxFrameBytes: 1024 * 1024,
  loginTimeoutMs: 60_000,
  pcIdleTimeoutMs: 60_000,
  mobileIdleTimeoutMs: 60_000,
  maxOutboundBytes: 4 * 1024 * 1024,
  drainTimeoutMs: 30_000,
  msgRatePerSec: 20,
  rateLimitAnswer: 'ack0',
  preLoginMaxFrameBytes: 1024 * 1024,
  maxInFlight: 16,
  inboundQueueMax: 8192,
};
