// --mode idle-conns, the pure part: where each connection goes and where it
// comes from, and whether this process may open that many sockets.

export interface Placement {
  /** Index into the gateway list. */
  gateway: number;
  /** Index into the source addresses. */
  source: number;
}

/**
 * The gateway of each of `count` connections as the login server's /msg_server
 * places them (services/login gateway-picker: the least-loaded gateway, ties to
 * the lowest id), counting the connections already placed; `names` are the
 * gateways' ids. Within a gateway the connections take the source addresses in
 * turn, so every (address, gateway) pair holds about the same number: the
 * gateways admit at most TT_MAX_CONN_PER_IP connections per client address.
 */
export function placeConnections(count: number, names: readonly string[], sources: number): Placement[] {
  if (names.length === 0) throw new Error('no gateway to place connections on');
  if (sources < 1) throw new Error('no source address to connect from');
  const held = names.map(() => 0);
  const out: Placement[] = [];
  for (let i = 0; i < count; i += 1) {
    let best = 0;
    for (let g = 1; g < names.length; g += 1) {
      if (held[g] < held[best] || (held[g] === held[best] && names[g] < names[best])) best = g;
    }
    out.push({ gateway: best, source: held[best] % sources });
    held[best] += 1;
  }
  return out;
}

/** The largest number of connections one (source address, gateway) pair gets in `placements`. */
export function maxPerSourceAndGateway(placements: readonly Placement[]): number {
  const counts = new Map<string, number>();
  let max = 0;
  for (const p of placements) {
    const key = `${p.source}/${p.gateway}`;
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    if (n > max) max = n;
  }
  return max;
}

/** Soft "Max open files" from the text of /proc/<pid>/limits; undefined when absent, Infinity when unlimited. */
export function parseOpenFilesLimit(limitsText: string): number | undefined {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limitsText);
  if (!m) return undefined;
  return m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

/** File descriptors the tool needs besides its connections (stdio, MySQL, cluster logs, ...). */
export const FD_HEADROOM = 200;

/** A clear message when `conns` connections will not fit under the fd limit, else undefined. */
export function fdLimitProblem(conns: number, limit: number | undefined): string | undefined {
  if (limit === undefined || conns + FD_HEADROOM <= limit) return undefined;
  return (
    `--conns ${conns} needs about ${conns + FD_HEADROOM} open files, the limit of this process is ${limit}: ` +
    `raise it (ulimit -n ${conns + FD_HEADROOM} or prlimit --nofile=...; make bench raises it to the hard limit) or lower --conns`
  );
}
