import * as grpc from '@grpc/grpc-js';
import { ERROR_CATALOGUE, isErrorCodeName, rpcError, serviceErrorOf } from '@tiertalk/rpc';
import { OPS_ERRORS, OPS_ERROR_OF_CODE, OpsError, toOpsError } from './errors';

describe('toOpsError', () => {
  it.each(Object.keys(ERROR_CATALOGUE).filter(isErrorCodeName))('answers %s with the HTTP status the catalogue names', (code) => {
    expect(OPS_ERRORS[OPS_ERROR_OF_CODE[code]].http).toBe(ERROR_CATALOGUE[code].http);
    const e = toOpsError(serviceErrorOf(code, `because ${code}`));
    expect(e).toBeInstanceOf(OpsError);
    expect(e.httpStatus).toBe(ERROR_CATALOGUE[code].http);
    expect(e.message).toContain(`because ${code}`);
  });

  it('maps errors without a code by their gRPC status', () => {
    expect(toOpsError(rpcError(grpc.status.NOT_FOUND, 'gone')).code).toBe('not_found');
    expect(toOpsError(rpcError(grpc.status.DEADLINE_EXCEEDED, 'slow')).code).toBe('unavailable');
    expect(toOpsError(new Error('boom')).code).toBe('internal');
  });
});
