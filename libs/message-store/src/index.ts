export { StoreLink } from './store-link';
export type { StoreLinkOptions, StoreOutcome, StoreStats } from './store-link';
export { conversationKey, storeIdemKey } from './store-keys';
export { storeProtocol } from './store-stream';
export type { StoreStream, StreamItem } from './store-stream';
export { messageEnvelope, type MessageOrigin } from './message-envelope';
export { deviceTokensOf } from './device-tokens';
