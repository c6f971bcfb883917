import type { Logger } from '@tiertalk/log';
import { IM, nowSec } from '@tiertalk/proto';
import type { UserDirectory } from '../../store/user-directory';

const SHIELD_OK = 0;
const SHIELD_FAILED = 1;

/** Mobile "do not disturb" (docs/FLOWS.md §11): IMUser.push_shield_status. */
export class PushShieldHandlers {
  constructor(
    private readonly users: UserDirectory,
    private readonly log: Logger,
  ) {}

  /** 0x010c → 0x010d{result_code, shield_status on success}; only 0 (off) and 1 (on) are stored. */
  async set(req: IM.Login.IMPushShieldReq): Promise<IM.Login.IMPushShieldRsp> {
    const status = req.shieldStatus;
    if (status !== 0 && status !== 1) {
      this.log.info({ userId: req.userId, status }, 'push shield refused: status is not 0 or 1');
      return IM.Login.IMPushShieldRsp.create({ userId: req.userId, resultCode: SHIELD_FAILED });
    }
    if (!(await this.users.updatePushShield(req.userId, status, nowSec()))) {
      this.log.warn({ userId: req.userId }, 'push shield not changed: no such user');
      return IM.Login.IMPushShieldRsp.create({ userId: req.userId, resultCode: SHIELD_FAILED });
    }
    return IM.Login.IMPushShieldRsp.create({ userId: req.userId, resultCode: SHIELD_OK, shieldStatus: status });
  }

  /** 0x010e → 0x010f{result_code, shield_status}. */
  async query(req: IM.Login.IMQueryPushShieldReq): Promise<IM.Login.IMQueryPushShieldRsp> {
    const status = await this.users.pushShield(req.userId);
    if (status === undefined) {
      this.log.warn({ userId: req.userId }, 'push shield query: no such user');
      return IM.Login.IMQueryPushShieldRsp.create({ userId: req.userId, resultCode: SHIELD_FAILED });
    }
    return IM.Login.IMQueryPushShieldRsp.create({ userId: req.userId, resultCode: SHIELD_OK, shieldStatus: status });
  }
}
