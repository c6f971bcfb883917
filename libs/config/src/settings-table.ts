// The settings reference of docs/OPERATIONS.md, rendered from the services'
// config schemas so that it cannot drift from what the services accept:
// keys, defaults and accepted values come from the schemas; the meaning of
// each key from docs/settings-meanings.json, else from the comment above the
// key in its schema source. `npm run docs:settings` writes it; a jest test
// (test/docs) fails when the committed table differs.
import { z } from 'zod';
import { secretRule } from './secrets';

/** One table: the keys a schema adds to the common ones. */
export interface SettingsSection {
  /** `common` for the keys every service reads, else the service name. */
  readonly name: string;
  readonly title: string;
  readonly schema: z.ZodObject;
  /** The schema's source text, for meanings taken from comments. */
  readonly sourceText: string;
  /** Path of that source, named in errors. */
  readonly sourcePath: string;
}

/** A key's meaning, and a default to show when the schema's is computed (host, CPU count) or lies elsewhere. */
export type SettingMeaning = string | { readonly meaning: string; readonly default: string };

/** Meanings by section name (`common`, `db-proxy`, ...) then key; a service section falls back to `common`. */
export type SettingsMeanings = Readonly<Record<string, Readonly<Record<string, SettingMeaning>>>>;

export class MissingMeaningError extends Error {
  constructor(readonly missing: readonly string[]) {
    super(`no meaning for ${missing.join(', ')}: add it to docs/settings-meanings.json (or a comment above the key in its schema)`);
    this.name = 'MissingMeaningError';
  }
}

/** The markdown tables, one per section; the common section first. Throws MissingMeaningError. */
export function renderSettingsTables(common: SettingsSection, services: readonly SettingsSection[], meanings: SettingsMeanings): string {
  const missing: string[] = [];
  const commonShape = common.schema.shape as Record<string, z.ZodType>;
  const parts = [renderSection(common, Object.keys(commonShape), meanings, missing)];
  for (const section of services) {
    const shape = section.schema.shape as Record<string, z.ZodType>;
    // A key the service redefines (a different schema object) is listed under it as well.
    const own = Object.keys(shape).filter((key) => shape[key] !== commonShape[key]);
    parts.push(renderSection(section, own, meanings, missing));
  }
  if (missing.length > 0) throw new MissingMeaningError(missing);
  return parts.join('\n');
}

function renderSection(section: SettingsSection, keys: readonly string[], meanings: SettingsMeanings, missing: string[]): string {
  const shape = section.schema.shape as Record<string, z.ZodType>;
  const rows = keys.map((key) => {
    const entry = meanings[section.name]?.[key] ?? meanings.common?.[key];
    const meaning = entry === undefined ? commentAbove(section.sourceText, key) : typeof entry === 'string' ? entry : entry.meaning;
    if (meaning === undefined) missing.push(`${key} (${section.sourcePath})`);
    const shown = typeof entry === 'object' ? entry.default : defaultOf(shape[key]);
    return `| \`${key}\` | ${cell(shown)} | ${cell(acceptedValues(shape[key]))} | ${cell(meaning ?? '')} |`;
  });
  return [`### ${section.title}`, '', '| key | default | accepts | meaning |', '|---|---|---|---|', ...rows, ''].join('\n');
}

/** What the key is when unset: the schema default, "unset", or, for secrets, the development-only default. */
export function defaultOf(schema: z.ZodType): string {
  const rule = secretRule(schema);
  if (rule?.devDefault !== undefined) return `none in production (required); development: ${code(rule.devDefault)}`;
  const unset = schema.safeParse(undefined);
  if (!unset.success) return 'required';
  // An optional key stays undefined even around a default (`csvList([]).optional()`).
  if (unset.data === undefined) return 'unset';
  // The default as written, not as transformed (`20/1`, not `{ points: 20, seconds: 1 }`).
  const value = findDefault(schema);
  return value === undefined ? 'unset' : code(value);
}

function findDefault(schema: z.ZodType): unknown {
  const def = schema.def as { type: string; defaultValue?: unknown; innerType?: z.ZodType; in?: z.ZodType; out?: z.ZodType };
  switch (def.type) {
    case 'default':
      return def.defaultValue;
    case 'optional':
    case 'nullable':
      return def.innerType === undefined ? undefined : findDefault(def.innerType);
    case 'pipe': {
      // preprocess(fn, inner) and inner.transform(fn): the default sits on the schema side.
      const fromIn = def.in === undefined ? undefined : findDefault(def.in);
      return fromIn !== undefined ? fromIn : def.out === undefined ? undefined : findDefault(def.out);
    }
    default:
      return undefined;
  }
}

/** The schema's own "expected ..." message for a wrong value: every helper of ./schema words one. */
export function acceptedValues(schema: z.ZodType): string {
  for (const probe of [{}, '', ' x/y ']) {
    const result = schema.safeParse(probe);
    if (result.success) continue;
    const message = result.error.issues[0]?.message ?? '';
    if (message.startsWith('expected ')) return message.slice('expected '.length);
  }
  return 'text';
}

/** The `//` comment lines right above `KEY:` in a schema source, joined; undefined when there are none. */
export function commentAbove(sourceText: string, key: string): string | undefined {
  const lines = sourceText.split('\n');
  const at = lines.findIndex((line) => new RegExp(`^\\s*${key}\\s*:`).test(line));
  if (at < 0) return undefined;
  const comment: string[] = [];
  for (let i = at - 1; i >= 0; i--) {
    const m = /^\s*\/\/\s?(.*)$/.exec(lines[i]);
    if (m === null) break;
    comment.unshift(m[1].trim());
  }
  return comment.length > 0 ? comment.join(' ') : undefined;
}

function code(value: unknown): string {
  const text = Array.isArray(value) ? value.join(',') : String(value);
  return text === '' ? '(empty)' : `\`${text}\``;
}

/** Table cells may not hold a raw `|` or a line break. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

/** Replaces what lies between the two marker lines; throws when they are missing. */
export function replaceBetweenMarkers(doc: string, begin: string, end: string, body: string): string {
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`markers ${begin} ... ${end} not found`);
  return `${doc.slice(0, from + begin.length)}\n\n${body}\n${doc.slice(to)}`;
}

/** What lies between the markers, as replaceBetweenMarkers writes it; undefined when they are missing. */
export function betweenMarkers(doc: string, begin: string, end: string): string | undefined {
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) return undefined;
  return doc.slice(from + begin.length, to).replace(/^\n\n/, '').replace(/\n$/, '');
}

export const SETTINGS_BEGIN = '<!-- settings:begin (generated by `npm run docs:settings` from the config schemas; do not edit by hand) -->';
export const SETTINGS_END = '<!-- settings:end -->';
