// Who the API sends as and to: users read through db-proxy's DbAdmin.UserGet
// (read-only for the http-api certificate), so an unknown or disabled user is
// a clear error before anything is stored.
import { DbAdminService, tiertalk } from '@tiertalk/proto';
import { OpsError, toOpsError, type OpsLink } from '@tiertalk/cluster-ops';

/** IMUser.status 0: an account in use (TeamTalk's other states cannot log in). */
const ACTIVE = 0;

export class Users {
  private systemId: number | undefined;

  constructor(
    private readonly link: OpsLink,
    /** TT_HTTP_API_SYSTEM_USER: the login name of the system sender. */
    private readonly systemName: string,
  ) {}

  /** The system sender's user id, read once (the row never changes id). */
  async system(): Promise<number> {
    if (this.systemId !== undefined) return this.systemId;
    const user = await this.get({ name: this.systemName }).catch((err: unknown) => {
      if (err instanceof OpsError && err.code === 'not_found') {
        throw new OpsError('unavailable', `the system sender "${this.systemName}" (TT_HTTP_API_SYSTEM_USER) is not in IMUser; run the migrations (0011 creates "system") or create the user`);
      }
      throw err;
    });
    this.systemId = user.userId;
    return user.userId;
  }

  /** A sender: must exist and be in use. */
  async activeSender(userId: number): Promise<number> {
    const user = await this.known(userId, 'sender');
    if (user.status !== ACTIVE) throw new OpsError('refused', `the sender ${userId} ("${user.name}") is disabled (IMUser.status ${user.status})`);
    return userId;
  }

  /** Any user of the directory (a receiver may be disabled: the message waits in its history, as for a client's message). */
  async known(userId: number, role = 'user'): Promise<tiertalk.AdminUser> {
    return this.get({ userId }).catch((err: unknown) => {
      if (err instanceof OpsError && err.code === 'not_found') throw new OpsError('not_found', `no ${role} with user id ${userId}`);
      throw err;
    });
  }

  /** db-proxy's answer, or its failure as an OpsError (NOT_FOUND → not_found). */
  private get(ref: tiertalk.AdminUserRef.$Properties): Promise<tiertalk.AdminUser> {
    return this.link.call(DbAdminService.UserGet, tiertalk.AdminUserRef.create(ref)).catch((err: unknown) => {
      throw toOpsError(err);
    });
  }
}
