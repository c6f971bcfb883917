import { z } from 'zod';
import { bool, commonConfigSchema, intRange, port, url } from './schema';
import { secret } from './secrets';
import {
  MissingMeaningError,
  acceptedValues,
  betweenMarkers,
  commentAbove,
  defaultOf,
  renderSettingsTables,
  replaceBetweenMarkers,
} from './settings-table';

describe('settings table', () => {
  it('shows defaults as an operator sets them', () => {
    expect(defaultOf(port(8080))).toBe('`8080`');
    expect(defaultOf(bool(false))).toBe('`false`');
    expect(defaultOf(url().optional())).toBe('unset');
    expect(defaultOf(z.string())).toBe('required');
    expect(defaultOf(secret(url(), { devDefault: 'redis://127.0.0.1:6379/1' }))).toBe(
      'none in production (required); development: `redis://127.0.0.1:6379/1`',
    );
  });

  it('words accepted values from the schema\'s own error message', () => {
    expect(acceptedValues(intRange(1, 60, 5))).toBe('an integer 1..60');
    expect(acceptedValues(url('http://x/'))).toBe('an absolute URL');
    expect(acceptedValues(bool(true))).toBe('true, false, 1 or 0');
  });

  it('takes a meaning from the comment lines right above a key', () => {
    const source = ['const s = z.object({', '  A: port(1),', '  // first line', '  // second line', '  B: port(2),', '});'].join('\n');
    expect(commentAbove(source, 'B')).toBe('first line second line');
    expect(commentAbove(source, 'A')).toBeUndefined();
  });

  it('lists a service\'s own keys under it and fails naming keys without a meaning', () => {
    const service = commonConfigSchema.extend({ TT_X_PORT: port(1), TT_Y: bool(true) });
    const common = { name: 'common', title: 'Every service', schema: commonConfigSchema, sourceText: '', sourcePath: 'schema.ts' };
    const svc = { name: 'x', title: 'x', schema: service, sourceText: '  // the y switch\n  TT_Y: bool(true),', sourcePath: 'x.ts' };
    const commonMeanings = Object.fromEntries(Object.keys(commonConfigSchema.shape).map((k) => [k, 'm']));
    const tables = renderSettingsTables(common, [svc], { common: commonMeanings, x: { TT_X_PORT: 'the x port' } });
    const xTable = tables.slice(tables.indexOf('### x'));
    expect(xTable).toContain('| `TT_X_PORT` | `1` | an integer 0..65535 | the x port |');
    expect(xTable).toContain('| `TT_Y` | `true` | true, false, 1 or 0 | the y switch |');
    expect(xTable).not.toContain('TT_ETCD_PREFIX');
    expect(() => renderSettingsTables(common, [svc], { common: commonMeanings })).toThrow(MissingMeaningError);
    expect(() => renderSettingsTables(common, [svc], { common: commonMeanings })).toThrow(/TT_X_PORT \(x\.ts\)/);
  });

  it('replaces exactly what lies between the markers', () => {
    const doc = 'head\n<!-- b -->\nold\n<!-- e -->\ntail\n';
    const next = replaceBetweenMarkers(doc, '<!-- b -->', '<!-- e -->', 'new table\n');
    expect(next).toBe('head\n<!-- b -->\n\nnew table\n\n<!-- e -->\ntail\n');
    expect(betweenMarkers(next, '<!-- b -->', '<!-- e -->')).toBe('new table\n');
    expect(() => replaceBetweenMarkers('no markers', '<!-- b -->', '<!-- e -->', 'x')).toThrow(/not found/);
  });
});
