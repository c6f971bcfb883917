import { barChart, bucketSeconds, sparkline } from './chart';

describe('charts', () => {
  it('scales a sparkline to the largest value', () => {
    expect(sparkline([0, 50, 100])).toBe('▁▅█');
    expect(sparkline([0, 0])).toBe('▁▁');
    expect(sparkline([10], 20)).toBe('▅');
  });

  it('draws bars with right-aligned labels and values', () => {
    const chart = barChart([
      { label: '1s', value: 10 },
      { label: '10s', value: 5 },
    ], 10);
    expect(chart.split('\n')).toEqual([' 1s │██████████ 10', '10s │█████      5']);
  });

  it('averages seconds into at most maxRows buckets', () => {
    expect(bucketSeconds([1, 2, 3], 10)).toEqual([
      { label: '1s', value: 1 },
      { label: '2s', value: 2 },
      { label: '3s', value: 3 },
    ]);
    expect(bucketSeconds([1, 3, 5, 7, 9], 2)).toEqual([
      { label: '1-3s', value: 3 },
      { label: '4-5s', value: 8 },
    ]);
    expect(bucketSeconds(new Array<number>(300).fill(1), 30)).toHaveLength(30);
  });
});
