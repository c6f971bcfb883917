export type RegistryErrorCode = 'ETCD_UNAVAILABLE' | 'REGISTRY_CLOSED' | 'INVALID_ARGUMENT';

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
