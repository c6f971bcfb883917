import { randomInt } from 'node:crypto';

// TeamTalk's msfs paths (FileManager.cpp): "g0/<000-255>/<000-255>/<microseconds>_<id>[_<w>x<h>].<ext>".
// The group "g0" is not part of where the file lies: TeamTalk kept "<disk>/<nnn>/<nnn>/<name>",
// and so does the local store (an old msfs directory can be served as it is).
const GROUP = 'g0';
const DIR_COUNT = 256;
// What TeamTalk and TierTalk ever hand out; anything else (.., %2e, slashes, NUL) is no file.
const PATH = /^g\d{1,3}\/(\d{3})\/(\d{3})\/([A-Za-z0-9_]{1,64}\.([A-Za-z0-9]{1,15}))$/;

/** A stored file: its public path (in answers and download URLs), its storage key and its extension. */
export interface FilePath {
  path: string;
  key: string;
  extension: string;
}

/** A new, unique path for an upload (the random part keeps instances that share storage apart). */
export function newFilePath(extension: string, sizeHint: string, nowMicros: bigint = BigInt(Date.now()) * 1000n + BigInt(randomInt(1000))): FilePath {
  const first = dir(randomInt(DIR_COUNT));
  const second = dir(randomInt(DIR_COUNT));
  const name = `${nowMicros}_${randomInt(1e12)}${sizeHint}.${extension}`;
  return { path: `${GROUP}/${first}/${second}/${name}`, key: `${first}/${second}/${name}`, extension };
}

/** The file a download path names (request target without the leading "/" and query); undefined when it names none. */
export function parseFilePath(path: string): FilePath | undefined {
  const m = PATH.exec(path);
  if (!m) return undefined;
  return { path, key: `${m[1]}/${m[2]}/${m[3]}`, extension: m[4] };
}

function dir(n: number): string {
  return String(n).padStart(3, '0');
}
