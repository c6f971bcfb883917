import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tiertalk/log';

/** Waits for a shutdown step at most ms; a failure or timeout is logged, never thrown. */
export function boundedStep(p: Promise<unknown>, ms: number, log: Logger, step: string): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      log.warn({ step, ms }, 'shutdown step timed out');
      resolve();
    }, ms);
    p.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (err: unknown) => {
        clearTimeout(timer);
        log.warn({ step, err }, 'shutdown step failed');
        resolve();
      },
    );
  });
}

/** tryShutdown waits for route's long-lived Push streams to end; force it after ms. */
export function shutdownGrpcServer(server: grpc.Server, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, ms);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
