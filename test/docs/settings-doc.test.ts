// docs/OPERATIONS.md lists every setting the services accept; its tables are
// generated from the config schemas (scripts/gen-settings-doc.js) and must
// match what the schemas in this tree render to.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import {
  SETTINGS_BEGIN,
  SETTINGS_END,
  SettingsMeanings,
  SettingsSection,
  betweenMarkers,
  renderSettingsTables,
} from '../../libs/config/src/settings-table';

const ROOT = path.resolve(__dirname, '../..');
const read = (rel: string): string => readFileSync(path.join(ROOT, rel), 'utf8');

interface SourceSpec {
  name: string;
  title: string;
  source: string;
  export: string;
}

function sections(): SettingsSection[] {
  const specs = JSON.parse(read('scripts/settings-sources.json')) as SourceSpec[];
  return specs.map((s) => {
    // ts-jest compiles the schema source itself, so an unbuilt change is seen too.
    const mod = require(path.join(ROOT, s.source)) as Record<string, z.ZodObject>;
    return { name: s.name, title: s.title, schema: mod[s.export], sourceText: read(s.source), sourcePath: s.source };
  });
}

describe('docs/OPERATIONS.md settings tables', () => {
  it('are what the config schemas render to', () => {
    const [common, ...services] = sections();
    const meanings = JSON.parse(read('docs/settings-meanings.json')) as SettingsMeanings;
    const expected = renderSettingsTables(common, services, meanings);
    const committed = betweenMarkers(read('docs/OPERATIONS.md'), SETTINGS_BEGIN, SETTINGS_END);
    if (committed !== expected) {
      const want = expected.split('\n');
      const have = (committed ?? '').split('\n');
      const at = want.findIndex((line, i) => line !== have[i]);
      throw new Error(
        'docs/OPERATIONS.md settings tables are out of date with the config schemas: run `npm run docs:settings` and commit the result\n' +
          `first difference, expected: ${want[at] ?? '(end)'}\n                  found:    ${have[at] ?? '(end)'}`,
      );
    }
  });

  it('list every key of every service schema', () => {
    const doc = read('docs/OPERATIONS.md');
    for (const section of sections()) {
      for (const key of Object.keys(section.schema.shape)) expect(doc).toContain(`| \`${key}\` |`);
    }
  });

  it('describe only keys that exist', () => {
    const meanings = JSON.parse(read('docs/settings-meanings.json')) as SettingsMeanings;
    const all = sections();
    const known = new Map(all.map((s) => [s.name, new Set(Object.keys(s.schema.shape))]));
    const everyKey = new Set(all.flatMap((s) => Object.keys(s.schema.shape)));
    const stale = Object.entries(meanings).flatMap(([name, keys]) =>
      Object.keys(keys).filter((key) => !(name === 'common' ? everyKey.has(key) : known.get(name)?.has(key))).map((key) => `${name}.${key}`),
    );
    expect(stale).toEqual([]);
  });
});
