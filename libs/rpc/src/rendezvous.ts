/**
 * Rendezvous (highest-random-weight) hashing: a key goes to the candidate
 * with the highest score(key, id). Every caller computes the same choice from
 * the same set, a key moves only when its chosen instance leaves the set, and
 * it comes back when that instance returns.
 */
export function rendezvousPick(key: string, ids: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const id of ids) {
    const s = rendezvousScore(key, id);
    // Ties (rare) go to the smaller id, so the choice never depends on order.
    if (s > bestScore || (s === bestScore && best !== undefined && id < best)) {
      best = id;
      bestScore = s;
    }
  }
  return best;
}

/** A well-mixed u32 of (key, id): FNV-1a over both, then murmur3's finaliser. */
export function rendezvousScore(key: string, id: string): number {
  let h = 0x811c9dc5;
  h = fnv1a(h, key);
  h = Math.imul(h ^ 0xff, 0x01000193); // separator, so ("ab","c") ≠ ("a","bc")
  h = fnv1a(h, id);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function fnv1a(seed: number, s: string): number {
  let h = seed;
  for (let i = 0; i < s.length; i += 1) {
    const c = s.charCodeAt(i);
    h = Math.imul(h ^ (c & 0xff), 0x01000193);
    h = Math.imul(h ^ (c >>> 8), 0x01000193);
  }
  return h;
}
