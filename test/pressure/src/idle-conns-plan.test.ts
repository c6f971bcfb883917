import { FD_HEADROOM, fdLimitProblem, maxPerSourceAndGateway, parseOpenFilesLimit, placeConnections } from './idle-conns-plan';

describe('placeConnections', () => {
  it('places like /msg_server: least loaded first, ties to the lowest id', () => {
    expect(placeConnections(5, ['msg-b', 'msg-a'], 1).map((p) => p.gateway)).toEqual([1, 0, 1, 0, 1]);
  });

  it('spreads each gateway over the source addresses evenly', () => {
    const placements = placeConnections(12, ['msg-1', 'msg-2'], 3);
    expect(placements.slice(0, 6)).toEqual([
      { gateway: 0, source: 0 },
      { gateway: 1, source: 0 },
      { gateway: 0, source: 1 },
      { gateway: 1, source: 1 },
      { gateway: 0, source: 2 },
      { gateway: 1, source: 2 },
    ]);
    expect(maxPerSourceAndGateway(placements)).toBe(2);
    expect(maxPerSourceAndGateway(placeConnections(5000, ['msg-1', 'msg-2'], 2))).toBe(1250);
  });

  it('refuses an empty gateway or address list', () => {
    expect(() => placeConnections(1, [], 1)).toThrow('no gateway');
    expect(() => placeConnections(1, ['msg-1'], 0)).toThrow('no source address');
  });
});

describe('the fd limit', () => {
  const limits = [
    'Limit                     Soft Limit           Hard Limit           Units',
    'Max processes             63455                63455                processes',
    'Max open files            1024                 20000                files',
  ].join('\n');

  it('reads the soft limit of open files', () => {
    expect(parseOpenFilesLimit(limits)).toBe(1024);
    expect(parseOpenFilesLimit('Max open files            unlimited            unlimited            files')).toBe(Infinity);
    expect(parseOpenFilesLimit('nothing here')).toBeUndefined();
  });

  it('says how to raise it when the connections do not fit', () => {
    expect(fdLimitProblem(1024 - FD_HEADROOM, 1024)).toBeUndefined();
    expect(fdLimitProblem(5000, undefined)).toBeUndefined();
    expect(fdLimitProblem(5000, 1024)).toBe(
      `--conns 5000 needs about ${5000 + FD_HEADROOM} open files, the limit of this process is 1024: ` +
        `raise it (ulimit -n ${5000 + FD_HEADROOM} or prlimit --nofile=...; make bench raises it to the hard limit) or lower --conns`,
    );
  });
});
