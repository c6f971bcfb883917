// The request bodies: TeamTalk's field names, defaults, and a 400 that names the field.
import { OpsError } from '@tiertalk/cluster-ops';
import { failure } from './answers';
import { changeMembersBody, check, createGroupBody, sendMessageBody } from './bodies';
import { apiIdemKey } from './send-message';

function badRequest(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof OpsError && err.code === 'bad_request') return err.message;
    throw err;
  }
  throw new Error('accepted');
}

describe('SendMessage body', () => {
  it('defaults to a 1:1 text from the system and accepts to_user_id for to_session_id', () => {
    expect(check(sendMessageBody, { to_user_id: 3, msg_data: 'hi', app_key: 'ignored' })).toEqual({ from_user_id: 0, to_user_id: 3, msg_type: 1, msg_data: 'hi' });
    expect(check(sendMessageBody, { to_session_id: 9, msg_type: 17, msg_data: 'all', from_user_id: 2 })).toMatchObject({ to_session_id: 9, msg_type: 17, from_user_id: 2 });
  });

  it('names what is wrong', () => {
    expect(badRequest(() => check(sendMessageBody, { to_user_id: 3 }))).toMatch(/^msg_data: /);
    expect(badRequest(() => check(sendMessageBody, { to_user_id: 3, msg_data: '' }))).toBe('msg_data: the message text is empty');
    expect(badRequest(() => check(sendMessageBody, { msg_data: 'x' }))).toMatch(/^to_session_id: give the receiver/);
    expect(badRequest(() => check(sendMessageBody, { to_user_id: 3, to_session_id: 3, msg_data: 'x' }))).toMatch(/^to_session_id: /);
    expect(badRequest(() => check(sendMessageBody, { to_user_id: 3, msg_data: 'x', msg_type: 2 }))).toMatch(/^msg_type: only text: 1 \(1:1\) or 17 \(group\)/);
    expect(badRequest(() => check(sendMessageBody, { to_user_id: -1, msg_data: 'x' }))).toMatch(/^to_user_id: /);
    expect(badRequest(() => check(sendMessageBody, { to_user_id: 2 ** 32, msg_data: 'x' }))).toMatch(/^to_user_id: /);
    expect(badRequest(() => check(sendMessageBody, { to_user_id: 3, msg_data: 'x', idempotency_key: 'k'.repeat(257) }))).toMatch(/^idempotency_key: /);
    expect(badRequest(() => check(sendMessageBody, [1, 2]))).toBe('the body must be a JSON object');
    expect(badRequest(() => check(sendMessageBody, 'text'))).toBe('the body must be a JSON object');
  });
});

describe('group bodies (TeamTalk http_msg_server fields)', () => {
  it('CreateGroup: req_user_id required, type 1 by default, no members besides the owner by default', () => {
    expect(check(createGroupBody, { req_user_id: 0, group_name: ' ops ' })).toEqual({ req_user_id: 0, group_name: 'ops', group_type: 1, group_avatar: '', user_id_list: [] });
    expect(badRequest(() => check(createGroupBody, { group_name: 'x' }))).toMatch(/^req_user_id: /);
    expect(badRequest(() => check(createGroupBody, { req_user_id: 0, group_name: 'x', group_type: 3 }))).toMatch(/^group_type: 1 \(normal\) or 2 \(temporary\)/);
  });

  it('ChangeMembers: modify_type 1 or 2 and at least one user', () => {
    expect(check(changeMembersBody, { group_id: 7, modify_type: 2, user_id_list: [4] })).toEqual({ req_user_id: 0, group_id: 7, modify_type: 2, user_id_list: [4] });
    expect(badRequest(() => check(changeMembersBody, { group_id: 7, modify_type: 3, user_id_list: [4] }))).toMatch(/^modify_type: 1 \(add\) or 2 \(remove\)/);
    expect(badRequest(() => check(changeMembersBody, { group_id: 7, modify_type: 1, user_id_list: [] }))).toMatch(/^user_id_list: /);
  });
});

describe('answers and keys', () => {
  it("carries TeamTalk's error_code beside TierTalk's error, with the path's refusal code", () => {
    expect(failure(new OpsError('unauthorized', 'no'))).toEqual({ status: 401, payload: { error_code: 2, error_msg: 'no', error: { code: 'unauthorized', message: 'no' } } });
    expect(failure(new OpsError('refused', 'role'), 11)).toMatchObject({ status: 409, payload: { error_code: 11 } });
    expect(failure(new OpsError('rate_limited', 'slow down'))).toMatchObject({ status: 429, payload: { error: { code: 'rate_limited' } } });
    expect(failure(new OpsError('not_found', 'no user'))).toMatchObject({ status: 404, payload: { error_code: 4 } });
    expect(failure(new OpsError('not_found', 'no such endpoint'), undefined, true)).toMatchObject({ status: 404, payload: { error_code: 5 } });
  });

  it('derives one store key per caller key (fits db-proxy 128 characters), and a fresh one without', () => {
    expect(apiIdemKey('invoice-42')).toBe(apiIdemKey('invoice-42'));
    expect(apiIdemKey('invoice-42')).not.toBe(apiIdemKey('invoice-43'));
    expect(apiIdemKey('x'.repeat(256)).length).toBeLessThanOrEqual(128);
    expect(apiIdemKey(undefined)).not.toBe(apiIdemKey(undefined));
  });
});
