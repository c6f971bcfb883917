import { isLeaving, type InstanceInfo } from '@tiertalk/registry';

/** What /msg_server hands out as msfsPrior / msfsBackup. */
export interface MsfsUrls {
  prior: string;
  backup: string;
}

/** TT_MSFS_URL set: that URL in both fields, whatever runs. */
export function fixedMsfs(url: string): () => MsfsUrls {
  const urls = { prior: url, backup: url };
  return () => urls;
}

/**
 * Two live msfs instances (etcd meta.url, services/msfs) at random, so clients
 * spread over them and a client whose first choice fails has another; the same
 * one twice when only one runs; empty strings when none does (a client then
 * cannot send images, rather than being sent to an address where nothing listens).
 * Leaving instances and entries without a usable http(s) URL are skipped.
 */
export function pickMsfs(instances: Iterable<InstanceInfo>, random: () => number = Math.random): MsfsUrls {
  const urls: string[] = [];
  for (const info of instances) {
    const url = info.meta.url;
    if (isLeaving(info) || typeof url !== 'string' || !/^https?:\/\//.test(url) || !URL.canParse(url)) continue;
    urls.push(url);
  }
  if (urls.length === 0) return { prior: '', backup: '' };
  const first = Math.floor(random() * urls.length);
  if (urls.length === 1) return { prior: urls[first], backup: urls[first] };
  const second = (first + 1 + Math.floor(random() * (urls.length - 1))) % urls.length;
  return { prior: urls[first], backup: urls[second] };
}
