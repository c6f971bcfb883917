/** The part of a grpc-js Server a close needs (kept structural: this lib does not load gRPC). */
export interface ClosableGrpcServer {
  tryShutdown(callback: (err?: Error) => void): void;
  forceShutdown(): void;
}

/** tryShutdown waits for open calls and long-lived streams to end; after ms they are cut (forceShutdown). */
export function shutdownGrpcServer(server: ClosableGrpcServer, ms: number): Promise<void> {
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
