// docs/PROTOCOL.md §1: seq_num is a u16 chosen by the requester and echoed in the
// response. 0 is what server pushes carry, so requests never use it.
export const MAX_SEQ = 0xffff;

/** Hands out request seq numbers 1..65535, wrapping, skipping ones still in use. */
export class SeqAllocator {
  private last: number;

  constructor(start = 0) {
    this.last = start % (MAX_SEQ + 1);
  }

  /** The next free seq number, or undefined when all 65535 are in use. */
  next(inUse: (seq: number) => boolean): number | undefined {
    for (let tries = 0; tries < MAX_SEQ; tries += 1) {
      this.last = (this.last % MAX_SEQ) + 1;
      if (!inUse(this.last)) return this.last;
    }
    return undefined;
  }
}
