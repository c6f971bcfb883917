import type http from 'node:http';
import { pipeline } from 'node:stream/promises';
import { downloadType } from './content-types';
import { parseFilePath } from './file-path';
import { countDownload, type DownloadResult } from './msfs-metrics';
import type { FileStore } from '@tiertalk/storage';

/** What happened to one download, for the request log. */
export interface DownloadOutcome {
  result: DownloadResult;
  bytes: number;
  detail?: string;
}

/**
 * GET (or HEAD) /<path> as handed out by an upload: the file's bytes, or a
 * bodyless 404 as TeamTalk answered for a missing file. Paths are matched
 * against the shape msfs hands out, so nothing else on the store (or beside
 * it) can be named.
 */
export async function sendDownload(req: http.IncomingMessage, res: http.ServerResponse, store: FileStore): Promise<DownloadOutcome> {
  const target = (req.url ?? '/').split('?')[0].slice(1);
  const file = parseFilePath(target);
  if (!file) return finish(res, 404, { result: 'bad_path', bytes: 0 });
  let stored;
  try {
    stored = await store.get(file.key);
  } catch (err) {
    return finish(res, 500, { result: 'storage_failed', bytes: 0, detail: err instanceof Error ? err.message : String(err) });
  }
  if (!stored) return finish(res, 404, { result: 'not_found', bytes: 0 });
  res.writeHead(200, {
    'Content-Type': downloadType(file.extension),
    'Content-Length': stored.size,
    // A path names one upload forever: caches may keep it.
    'Cache-Control': 'public, max-age=31536000, immutable',
    'X-Content-Type-Options': 'nosniff',
  });
  if (req.method === 'HEAD') {
    stored.body.destroy();
    res.end();
    countDownload('ok');
    return { result: 'ok', bytes: 0 };
  }
  try {
    await pipeline(stored.body, res);
  } catch (err) {
    // Headers are out: all that is left is to cut the connection, so the client sees a short body.
    res.destroy();
    const result = res.writableFinished ? 'ok' : 'aborted';
    countDownload(result);
    return { result, bytes: 0, detail: err instanceof Error ? err.message : String(err) };
  }
  countDownload('ok', stored.size);
  return { result: 'ok', bytes: stored.size };
}

function finish(res: http.ServerResponse, status: 404 | 500, outcome: DownloadOutcome): DownloadOutcome {
  res.writeHead(status, { 'Content-Length': 0, 'Content-Type': 'text/html;charset=utf-8' });
  res.end();
  countDownload(outcome.result);
  return outcome;
}
