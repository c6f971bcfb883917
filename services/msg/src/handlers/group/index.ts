import type { HandlerTable } from '../../dispatcher';

export const groupHandlers: HandlerTable = {};
