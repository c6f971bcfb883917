// The repository stands on its own: code, tests and docs cite the protocol,
// flow and storage facts as `docs/<NAME>.md §<section>`, and every such
// citation must name a section heading that exists in that doc. Nothing may
// point outside the repository for them.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', '.run', 'coverage']);
const TEXT_FILE = /\.(ts|js|proto|md|sh|sql|json|ya?ml)$|^(Makefile|Dockerfile)$/;

function textFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) textFiles(path.join(dir, entry.name), out);
    } else if (TEXT_FILE.test(entry.name)) {
      out.push(path.join(dir, entry.name));
    }
  }
  return out;
}

const SECTION = String.raw`(\d+[a-z]?(?:\.\d+)*)`;
// `FLOWS.md §4`, `docs/FLOWS.md §2-4, §12`, `[FLOWS.md](FLOWS.md) §6–§12`, `PROTOCOL.md §2.2-2.7`, `FLOWS.md §4 / §10.2`.
const CITATION = new RegExp(String.raw`\b([A-Z][A-Z0-9_]*\.md)(?:\]\([^)]*\))?\s+§` + SECTION + String.raw`((?:\s*(?:,|-|–|/|and)\s*§?` + SECTION + ')*)', 'g');
const FOLLOWING = new RegExp(String.raw`(?:,|-|–|/|and)\s*§?` + SECTION, 'g');
const HEADING = new RegExp(String.raw`^#{1,6}\s+` + SECTION + String.raw`\.?\s`, 'gm');

/** Section numbers of a doc's headings: `## 4. A 1:1 message` → "4", `### 1a. Over HTTP` → "1a". */
function sectionsOf(doc: string): Set<string> {
  return new Set([...readFileSync(path.join(ROOT, 'docs', doc), 'utf8').matchAll(HEADING)].map((m) => m[1]));
}

interface Citation {
  file: string;
  line: number;
  doc: string;
  section: string;
}

function citations(): Citation[] {
  const found: Citation[] = [];
  for (const file of textFiles(ROOT)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(CITATION)) {
      const line = text.slice(0, m.index).split('\n').length;
      const rel = path.relative(ROOT, file);
      const sections = [m[2], ...[...m[3].matchAll(FOLLOWING)].map((f) => f[1])];
      for (const section of sections) found.push({ file: rel, line, doc: m[1], section });
    }
  }
  return found;
}

describe('citations of docs/<NAME>.md §N', () => {
  const all = citations();

  it('are found in code, tests, proto files and docs', () => {
    // Guards the pattern itself: the tree cites these docs in well over a hundred places.
    expect(all.filter((c) => c.doc === 'FLOWS.md').length).toBeGreaterThan(100);
    expect(all.map((c) => c.doc)).toEqual(expect.arrayContaining(['PROTOCOL.md', 'FLOWS.md', 'STORAGE.md']));
  });

  it('each name a section heading that exists in that doc', () => {
    const headings = new Map<string, Set<string> | undefined>();
    const broken = all.filter((c) => {
      if (!headings.has(c.doc)) headings.set(c.doc, existsSync(path.join(ROOT, 'docs', c.doc)) ? sectionsOf(c.doc) : undefined);
      return headings.get(c.doc)?.has(c.section) !== true;
    });
    expect(broken.map((c) => `${c.file}:${c.line} cites ${c.doc} §${c.section}, which has no such section heading`)).toEqual([]);
  });
});

describe('the repository stands on its own', () => {
  it('no file points outside it for protocol facts', () => {
    // Built from parts so that this file does not match itself.
    const outside = [['..', 'shared'].join('/'), ['shared', 'spec'].join('/')];
    const offenders = textFiles(ROOT).flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      return outside.filter((needle) => text.includes(needle)).map((needle) => `${path.relative(ROOT, file)} mentions ${needle}`);
    });
    expect(offenders).toEqual([]);
  });
});
