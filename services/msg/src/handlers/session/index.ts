import type { HandlerTable } from '../../dispatcher';

export const sessionHandlers: HandlerTable = {};
