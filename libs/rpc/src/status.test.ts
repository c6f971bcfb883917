import * as grpc from '@grpc/grpc-js';
import { NoInstanceError, errorCode, errorDetails, isConnectionFailure, isServiceError, isUnavailable, rpcError } from './index';

describe('status mapping', () => {
  it('rpcError carries code, message and details (any text) as a ServiceError', () => {
    const err = rpcError(grpc.status.INVALID_ARGUMENT, 'bad user', { userId: '42', Reason: '用户 不存在' });
    expect(isServiceError(err)).toBe(true);
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toBe('bad user');
    expect(errorDetails(err)).toEqual({ userid: '42', reason: '用户 不存在' });
  });

  it('maps errors to codes', () => {
    expect(errorCode(rpcError(grpc.status.NOT_FOUND, 'x'))).toBe(grpc.status.NOT_FOUND);
    expect(errorCode(new NoInstanceError('route'))).toBe(grpc.status.UNAVAILABLE);
    expect(errorCode(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(grpc.status.UNAVAILABLE);
    expect(errorCode(new Error('plain'))).toBe(grpc.status.UNKNOWN);
    expect(errorCode({ code: 99 })).toBe(grpc.status.UNKNOWN);
    expect(errorCode(undefined)).toBe(grpc.status.UNKNOWN);
    expect(isUnavailable(rpcError(grpc.status.UNAVAILABLE, 'down'))).toBe(true);
    expect(isUnavailable(rpcError(grpc.status.DEADLINE_EXCEEDED, 'slow'))).toBe(false);
    expect(isConnectionFailure(rpcError(grpc.status.CANCELLED, 'reset'))).toBe(true);
    expect(isConnectionFailure(rpcError(grpc.status.DEADLINE_EXCEEDED, 'slow'))).toBe(false);
    expect(isConnectionFailure(rpcError(grpc.status.INTERNAL, 'bug'))).toBe(false);
  });

  it('NoInstanceError has a stable code and names the service', () => {
    const err = new NoInstanceError('db-proxy');
    expect(err.code).toBe('NO_INSTANCE');
    expect(err.service).toBe('db-proxy');
    expect(err.message).toContain('db-proxy');
  });
});
