import type { HandlerTable } from '../../dispatcher';

export const pushHandlers: HandlerTable = {};
