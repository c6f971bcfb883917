// How a TierTalk service starts and stops (docs/ARCHITECTURE.md "Start-up and shutdown"),
// and the listen/close of its TCP, HTTP and gRPC servers.
export { ServiceLifecycle } from './service-lifecycle';
export type { ServiceLifecycleOptions, StepOptions } from './service-lifecycle';
export { exitOnSignals, exitOnStartFailure } from './signals';
export type { ExitOnSignalsOptions } from './signals';
export { gracefulClose, listen } from './net-server';
export { shutdownGrpcServer } from './grpc-close';
export type { ClosableGrpcServer } from './grpc-close';
export { watchStore } from './watched-store';
export type { CheckableStore } from './watched-store';
