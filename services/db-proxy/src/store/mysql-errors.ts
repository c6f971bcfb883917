// Classifying MySQL errors the message path reacts to.

/** ER_DUP_ENTRY: the name of the unique key that was violated, else undefined. */
export function duplicateKeyName(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('errno' in err) || Number(err.errno) !== 1062) return undefined;
  const message = 'sqlMessage' in err && typeof err.sqlMessage === 'string' ? err.sqlMessage : err instanceof Error ? err.message : '';
  // MariaDB: "… for key 'uk_x'"; MySQL 8: "… for key 'Table.uk_x'".
  const m = /for key '(?:[^'.]*\.)?([^'.]+)'/.exec(message);
  return m?.[1] ?? '';
}

/** The connection died (or was closed) under the query: nothing more is known of what the server did. */
export function isFatal(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'fatal' in err && err.fatal === true;
}
