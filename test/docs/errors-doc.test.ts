// docs/ERRORS.md lists every code of the error catalogue; its table is
// generated (scripts/gen-errors-doc.js) and must match what the catalogue in
// this tree renders to.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { IM } from '@tiertalk/proto';
import { betweenMarkers } from '../../libs/config/src/settings-table';
import { ERROR_CATALOGUE, isErrorCodeName } from '../../libs/rpc/src/error-catalogue';
import { ERRORS_BEGIN, ERRORS_END, renderErrorTable } from '../../libs/rpc/src/error-doc';

const ROOT = path.resolve(__dirname, '../..');

describe('docs/ERRORS.md', () => {
  it('has the table the catalogue renders to (run `npm run docs:errors` when this fails)', () => {
    const committed = betweenMarkers(readFileSync(path.join(ROOT, 'docs/ERRORS.md'), 'utf8'), ERRORS_BEGIN, ERRORS_END);
    expect(committed).toBe(renderErrorTable());
  });

  it('names login result codes that are IM.BaseDefine.ResultType refusals', () => {
    const refusals = new Set<number>(Object.values(IM.BaseDefine.ResultType).filter((v): v is number => typeof v === 'number' && v !== 0));
    for (const code of Object.keys(ERROR_CATALOGUE).filter(isErrorCodeName)) {
      const spec: { resultCode?: number; client: string } = ERROR_CATALOGUE[code];
      if (spec.resultCode === undefined) continue;
      expect(refusals.has(spec.resultCode)).toBe(true);
      expect(spec.client).toContain(IM.BaseDefine.ResultType[spec.resultCode]);
    }
  });
});
