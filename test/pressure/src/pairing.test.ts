import { gatewayForClient, pairAcrossGateways } from './pairing';

describe('gatewayForClient', () => {
  it('puts the two ends of every pair on different gateways', () => {
    for (const gws of [2, 3, 5]) {
      for (let pair = 0; pair < 20; pair += 1) {
        expect(gatewayForClient(2 * pair, gws)).not.toBe(gatewayForClient(2 * pair + 1, gws));
      }
    }
    expect(gatewayForClient(0, 1)).toBe(0);
    expect(gatewayForClient(1, 1)).toBe(0);
  });
});

describe('pairAcrossGateways', () => {
  function crossPairs(gws: string[]): number {
    const partner = pairAcrossGateways(gws);
    partner.forEach((p, i) => expect(partner[p]).toBe(i));
    return partner.filter((p, i) => i < p && gws[i] !== gws[p]).length;
  }

  it('pairs every client once, across gateways as far as the counts allow', () => {
    expect(crossPairs(['a', 'a', 'b', 'b'])).toBe(2);
    expect(crossPairs(['a', 'a', 'a', 'a', 'a', 'b'])).toBe(1);
    expect(crossPairs(['a', 'b', 'c', 'a', 'b', 'c'])).toBe(3);
    expect(crossPairs(['a', 'a'])).toBe(0);
    expect(crossPairs(new Array<string>(10).fill('a').concat(new Array<string>(10).fill('b')))).toBe(10);
  });

  it('refuses an odd count', () => {
    expect(() => pairAcrossGateways(['a', 'b', 'c'])).toThrow();
  });
});
