import { SHARD_COUNT } from './keys';

// TT_MYSQL_SHARDS: which message shards live on another MySQL server than the
// main one (TT_MYSQL_MASTER_URL). Shard n is the pair IMMessage_n and
// IMGroupMessage_n (relateId % 8, groupId % 8; docs/STORAGE.md §1.4-1.5).
// Format: entries separated by `;`, each `<shards>=<url>`, shards a comma list
// of numbers and ranges:  `4-7=mysql://tt:pw@db2:3306/teamtalk;1,3=mysql://…`.
// A shard not listed stays on the main server.

export interface ShardPlacement {
  /** Shard numbers on this server, ascending. */
  shards: number[];
  url: string;
}

/** Parses and checks TT_MYSQL_SHARDS; throws an Error that says what is wrong. Empty text: no placements. */
export function parseShardMap(text: string): ShardPlacement[] {
  const placements: ShardPlacement[] = [];
  const placedOn = new Map<number, string>();
  const urls = new Set<string>();
  for (const raw of text.split(';')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new Error(`entry "${shortened(entry)}" is not <shards>=<url> (e.g. 4-7=mysql://user:password@host:3306/teamtalk)`);
    const url = entry.slice(eq + 1).trim();
    if (!URL.canParse(url) || !new URL(url).protocol.startsWith('mysql')) throw new Error(`shards ${entry.slice(0, eq)}: "${shortened(url)}" is not a mysql:// URL`);
    const database = new URL(url).pathname.replace(/^\//, '');
    if (database === '') throw new Error(`shards ${entry.slice(0, eq)}: the URL names no database`);
    const key = serverName(url);
    if (urls.has(key)) throw new Error(`the server ${key} is listed twice: list all its shards in one entry`);
    urls.add(key);
    const shards = parseShardList(entry.slice(0, eq));
    for (const shard of shards) {
      const other = placedOn.get(shard);
      if (other !== undefined) throw new Error(`shard ${shard} is listed twice (on ${other} and ${key}): each shard lives on exactly one server`);
      placedOn.set(shard, key);
    }
    placements.push({ shards, url });
  }
  return placements;
}

/** The server a URL names, without credentials: `host:port/database` (also the server's label in metrics and checks). */
export function serverName(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port === '' ? '3306' : u.port}${u.pathname}`;
}

function parseShardList(list: string): number[] {
  const out = new Set<number>();
  for (const part of list.split(',').map((p) => p.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) throw new Error(`"${list.trim()}": expected shard numbers and ranges such as 0,2,4-7`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from > to) throw new Error(`"${part}": a range goes from low to high`);
    for (let n = from; n <= to; n++) {
      if (n >= SHARD_COUNT) throw new Error(`shard ${n} does not exist: shards are 0-${SHARD_COUNT - 1}`);
      if (out.has(n)) throw new Error(`shard ${n} is listed twice: each shard lives on exactly one server`);
      out.add(n);
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** An entry as it may appear in an error message (no password: only what precedes `//user:`). */
function shortened(s: string): string {
  return s.replace(/\/\/[^@/]*@/, '//…@').slice(0, 80);
}
