import type { Logger } from '@tiertalk/log';
import { IM, nowSec } from '@tiertalk/proto';
import type { UserDirectory } from '../../store/user-directory';

// docs/FLOWS.md §9: TeamTalk refuses a signature longer than 128 bytes (std::string length).
export const SIGN_INFO_MAX_BYTES = 128;
// IMUser.avatar is varchar(255): longer URLs cannot be stored.
export const AVATAR_URL_MAX_CHARS = 255;

export const PROFILE_OK = 0;
export const PROFILE_FAILED = 1;

/** Profile changes (docs/FLOWS.md §9): signature and avatar. Strings are stored verbatim through bound parameters. */
export class ProfileHandlers {
  constructor(
    private readonly users: UserDirectory,
    private readonly log: Logger,
  ) {}

  /** 0x0213 → 0x0214{result_code, sign_info on success}; the gateway broadcasts the change on result 0. */
  async changeSignInfo(req: IM.Buddy.IMChangeSignInfoReq): Promise<IM.Buddy.IMChangeSignInfoRsp> {
    const bytes = Buffer.byteLength(req.signInfo, 'utf8');
    const failed = IM.Buddy.IMChangeSignInfoRsp.create({ userId: req.userId, resultCode: PROFILE_FAILED });
    if (bytes > SIGN_INFO_MAX_BYTES) {
      this.log.info({ userId: req.userId, bytes }, 'sign info refused: longer than 128 bytes');
      return failed;
    }
    if (!(await this.users.updateSignInfo(req.userId, req.signInfo, nowSec()))) {
      this.log.warn({ userId: req.userId }, 'sign info not changed: no such user');
      return failed;
    }
    return IM.Buddy.IMChangeSignInfoRsp.create({ userId: req.userId, resultCode: PROFILE_OK, signInfo: req.signInfo });
  }

  /**
   * 0x020c → 0x020d. TeamTalk's db-proxy never answered this (docs/FLOWS.md §14 U6,
   * optional); TierTalk stores the URL and answers, and the gateway sends the
   * answer to all the user's connections as TeamTalk's msg server would.
   */
  async changeAvatar(req: IM.Buddy.IMChangeAvatarReq): Promise<IM.Buddy.IMChangeAvatarRsp> {
    const chars = [...req.avatarUrl].length;
    if (chars > AVATAR_URL_MAX_CHARS) {
      this.log.info({ userId: req.userId, chars }, 'avatar refused: URL longer than 255 characters');
      return IM.Buddy.IMChangeAvatarRsp.create({ userId: req.userId, resultCode: PROFILE_FAILED });
    }
    if (!(await this.users.updateAvatar(req.userId, req.avatarUrl, nowSec()))) {
      this.log.warn({ userId: req.userId }, 'avatar not changed: no such user');
      return IM.Buddy.IMChangeAvatarRsp.create({ userId: req.userId, resultCode: PROFILE_FAILED });
    }
    return IM.Buddy.IMChangeAvatarRsp.create({ userId: req.userId, resultCode: PROFILE_OK });
  }
}
