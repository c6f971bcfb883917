// The web client's built files (web/dist), read once at start-up: the set is
// small and fixed, and a request can only ever name one of them (no paths are
// joined from request input).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export interface WebFile {
  body: Buffer;
  contentType: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** The web client's directory inside the repository (web/dist), as `npm run build` leaves it. */
export function defaultWebDir(): string {
  return path.resolve(__dirname, '../../../web/dist');
}

/** name → file for every servable file directly in `dir`; throws when it has no index.html (not built). */
export function loadWebFiles(dir: string): ReadonlyMap<string, WebFile> {
  const files = new Map<string, WebFile>();
  for (const name of readdirSync(dir)) {
    const contentType = CONTENT_TYPES[path.extname(name)];
    const full = path.join(dir, name);
    if (contentType === undefined || !statSync(full).isFile()) continue;
    files.set(name, { body: readFileSync(full), contentType });
  }
  if (!files.has('index.html')) throw new Error(`${dir} has no index.html: build the web client (npm run build)`);
  return files;
}
