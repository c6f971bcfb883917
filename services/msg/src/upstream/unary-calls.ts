import { Gauge, metricsRegistry } from '@tiertalk/metrics';

/**
 * Unary calls this gateway has open to db-proxy and route (forwarded client
 * requests; logins and logouts ride streams). Each connection may have at most TT_CONN_MAX_IN_FLIGHT of
 * them; the peak shows whether that holds under a flood.
 */
class UnaryCallCount {
  inFlight = 0;
  peak = 0;

  /** Counts `call` while it is open. */
  track<T>(call: Promise<T>): Promise<T> {
    this.inFlight += 1;
    if (this.inFlight > this.peak) this.peak = this.inFlight;
    const done = (): void => {
      this.inFlight -= 1;
    };
    call.then(done, done);
    return call;
  }

  /** Starts a new peak measurement from the current count. */
  resetPeak(): void {
    this.peak = this.inFlight;
  }
}

export const unaryCalls = new UnaryCallCount();

new Gauge({
  name: 'tt_msg_upstream_unary_in_flight',
  help: 'Unary gRPC calls from this gateway to db-proxy and route not yet answered',
  registers: [metricsRegistry],
  collect() {
    this.set(unaryCalls.inFlight);
  },
});
