import { z } from 'zod';
import { refuseWellKnown, secret } from './secrets';

// TT_AES_KEY: TeamTalk's aesKey (docs/PROTOCOL.md §5), the one text key every
// client and service of a cluster shares. `publishedKey` is the key TeamTalk
// ships with (@tiertalk/proto TEAMTALK_DEFAULT_AES_KEY): refused in production,
// where it would protect nothing.

const WELL_KNOWN = "TeamTalk's default AES key";

/** Services that encrypt or decrypt text themselves: required, TeamTalk's key in development. */
export function aesKey(publishedKey: string) {
  return secret(z.string().refine((s) => Buffer.byteLength(s, 'utf8') === 32, { error: 'expected exactly 32 bytes (an AES-256 key)' }), {
    devDefault: publishedKey,
    refuseInProduction: refuseWellKnown([publishedKey], WELL_KNOWN),
  });
}

const OPTIONAL_KEY_ERROR = "expected TeamTalk's 32-byte aesKey";

/** Services for which the key is optional (offline push: without it a push shows a neutral line); unset or blank: none. */
export function optionalAesKey(publishedKey: string) {
  return secret(
    z.preprocess(
      (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? undefined : v),
      z
        .string({ error: OPTIONAL_KEY_ERROR })
        .refine((s) => Buffer.byteLength(s, 'utf8') === 32, { error: OPTIONAL_KEY_ERROR })
        .optional(),
    ),
    { refuseInProduction: refuseWellKnown([publishedKey], WELL_KNOWN) },
  );
}
