// Who talks to whom, and on which gateway: the two ends of a pair should sit on
// different gateways so every delivery is pushed from one gateway to another.
/** Pair i's two ends go to gateways i and i+1 (mod count): different ones whenever there are two or more. */
export function gatewayForClient(client: number, gatewayCount: number): number {
  const pair = client >> 1;
  return (pair + (client & 1)) % gatewayCount;
}

/**
 * Partners for clients that the login server placed: greedily pairs a client of
 * the most crowded gateway with one of the next, so as many pairs as possible
 * cross gateways. Returns partner[i]; needs an even count.
 */
export function pairAcrossGateways(gatewayOf: readonly string[]): number[] {
  const groups = new Map<string, number[]>();
  gatewayOf.forEach((g, i) => {
    const list = groups.get(g);
    if (list) list.push(i);
    else groups.set(g, [i]);
  });
  const partner = new Array<number>(gatewayOf.length).fill(-1);
  const lists = [...groups.values()];
  for (;;) {
    const open = lists.filter((l) => l.length > 0).sort((a, b) => b.length - a.length);
    if (open.length === 0) break;
    const a = open[0].pop();
    const b = (open.length > 1 ? open[1] : open[0]).pop();
    if (a === undefined || b === undefined) throw new Error('pairAcrossGateways: odd number of clients');
    partner[a] = b;
    partner[b] = a;
  }
  return partner;
}
