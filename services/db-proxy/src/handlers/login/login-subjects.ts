/** IMUser.name is varchar(32): a longer name cannot exist (characters, not bytes). */
export const MAX_LOGIN_NAME_CHARS = 32;
/** What a TeamTalk client sends is md5hex(password), 32 characters; anything far longer is not a password. */
export const MAX_SECRET_CHARS = 256;

/**
 * The login name as MariaDB compares it. IMUser.name's collation pads with
 * spaces, so `'alice   '` selects alice's row: the name is normalised here, so
 * it also meets alice's failure counter rather than getting a fresh one.
 * undefined for a name no account can have (empty, longer than the column):
 * such a name reaches neither Redis nor MySQL.
 */
export function normaliseLoginName(raw: string): string | undefined {
  // Cheap bound first: a 10 kB name is not scanned character by character.
  if (raw.length > MAX_LOGIN_NAME_CHARS * 4) return undefined;
  const name = raw.replace(/ +$/, '');
  if (name === '' || [...name].length > MAX_LOGIN_NAME_CHARS) return undefined;
  return name;
}
