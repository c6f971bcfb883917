// Generated protobuf classes for TeamTalk's PDUs (IM.*) and TierTalk's internal
// envelopes (tiertalk.*), the command-id table, and the gRPC service definitions.
export { IM, tiertalk } from './gen/pb';
export * from './commands';
export * from './services';
export * from './content-cipher';
export * from './wire-time';
