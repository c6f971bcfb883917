import type { HandlerTable } from '../../dispatcher';

export const userHandlers: HandlerTable = {};
