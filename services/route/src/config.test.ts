import { ConfigError } from '@tiertalk/config';
import { TEAMTALK_DEFAULT_AES_KEY } from '@tiertalk/proto';
import { loadRouteConfig } from './config';

function issueKeys(env: NodeJS.ProcessEnv): string[] {
  try {
    loadRouteConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => i.key);
    throw err;
  }
  return [];
}

describe('route secrets', () => {
  it('needs its session Redis URL in production; the AES key stays optional', () => {
    expect(issueKeys({})).toEqual(['TT_SESSION_REDIS_URL']);
    expect(loadRouteConfig({ TT_SESSION_REDIS_URL: 'redis://:pw@r:6379/3' }).TT_AES_KEY).toBeUndefined();
  });

  it("refuses TeamTalk's AES key in production only", () => {
    expect(issueKeys({ TT_SESSION_REDIS_URL: 'redis://:pw@r:6379/3', TT_AES_KEY: TEAMTALK_DEFAULT_AES_KEY })).toEqual(['TT_AES_KEY']);
    expect(loadRouteConfig({ TT_ENV: 'development', TT_AES_KEY: TEAMTALK_DEFAULT_AES_KEY }).TT_SESSION_REDIS_URL).toBe('redis://127.0.0.1:6379/3');
  });
});
