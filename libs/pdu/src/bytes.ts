// Big-endian integer access on plain Uint8Arrays, so framing runs in browsers
// (no Buffer there) as well as under Node.

/** Node's Buffer when present (its subarrays and copies stay Buffers for Node callers), else undefined. */
const NodeBuffer: { allocUnsafe(n: number): Uint8Array } | undefined = (globalThis as { Buffer?: { allocUnsafe(n: number): Uint8Array } }).Buffer;

/** n bytes whose content the caller overwrites; a Buffer under Node, a Uint8Array elsewhere. */
export function allocBytes(n: number): Uint8Array {
  return NodeBuffer ? NodeBuffer.allocUnsafe(n) : new Uint8Array(n);
}

export function readU16(b: Uint8Array, offset: number): number {
  return (b[offset] << 8) | b[offset + 1];
}

export function readU32(b: Uint8Array, offset: number): number {
  return ((b[offset] << 24) >>> 0) + ((b[offset + 1] << 16) | (b[offset + 2] << 8) | b[offset + 3]);
}

export function writeU16(b: Uint8Array, value: number, offset: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) throw new RangeError(`value ${value} is out of range for an unsigned 16-bit field`);
  b[offset] = value >>> 8;
  b[offset + 1] = value & 0xff;
}

export function writeU32(b: Uint8Array, value: number, offset: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new RangeError(`value ${value} is out of range for an unsigned 32-bit field`);
  b[offset] = value >>> 24;
  b[offset + 1] = (value >>> 16) & 0xff;
  b[offset + 2] = (value >>> 8) & 0xff;
  b[offset + 3] = value & 0xff;
}
