/** No live instance of a service to call (none registered, or all excluded/draining). */
export class NoInstanceError extends Error {
  override readonly name = 'NoInstanceError';
  readonly code = 'NO_INSTANCE';
  constructor(readonly service: string) {
    super(`no live instance of service "${service}"`);
  }
}
