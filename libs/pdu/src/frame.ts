// TeamTalk PDU framing: docs/PROTOCOL.md §1. All integers big-endian.
import { allocBytes, readU16, readU32, writeU16, writeU32 } from './bytes';

export const PDU_HEADER_LENGTH = 16;
/** Version TeamTalk writes; not checked on receive (docs/PROTOCOL.md §1). */
export const PDU_VERSION = 1;
/** TeamTalk has no upper bound; we add one so a peer cannot make us buffer forever. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
const MAX_U32 = 0xffff_ffff;

export interface PduHeader {
  /** Total PDU length including the 16 header bytes. */
  length: number;
  version: number;
  flag: number;
  serviceId: number;
  commandId: number;
  seqNum: number;
  reserved: number;
}

/** `B`: Buffer under Node (the reader is fed Buffers there); Uint8Array in portable code (browsers). */
export interface Frame<B extends Uint8Array = Buffer> {
  serviceId: number;
  commandId: number;
  seqNum: number;
  body: B;
}

export function readHeader(buf: Uint8Array, offset = 0): PduHeader {
  if (buf.length - offset < PDU_HEADER_LENGTH) {
    throw new RangeError(`need ${PDU_HEADER_LENGTH} bytes for a PDU header, have ${buf.length - offset}`);
  }
  return {
    length: readU32(buf, offset),
    version: readU16(buf, offset + 4),
    flag: readU16(buf, offset + 6),
    serviceId: readU16(buf, offset + 8),
    commandId: readU16(buf, offset + 10),
    seqNum: readU16(buf, offset + 12),
    reserved: readU16(buf, offset + 14),
  };
}

/** Writes a header; throws RangeError when a field does not fit its width. */
export function writeHeader(buf: Uint8Array, h: PduHeader, offset = 0): void {
  writeU32(buf, h.length, offset);
  writeU16(buf, h.version, offset + 4);
  writeU16(buf, h.flag, offset + 6);
  writeU16(buf, h.serviceId, offset + 8);
  writeU16(buf, h.commandId, offset + 10);
  writeU16(buf, h.seqNum, offset + 12);
  writeU16(buf, h.reserved, offset + 14);
}

/** Builds one PDU (header + body) in a single allocation: a Buffer under Node; in a browser a plain Uint8Array, to be used as one. */
export function encodeFrame(serviceId: number, commandId: number, seqNum: number, body: Uint8Array): Buffer {
  const length = PDU_HEADER_LENGTH + body.length;
  if (length > MAX_U32) throw new RangeError(`PDU body too large: ${body.length} bytes`);
  const buf = allocBytes(length);
  writeHeader(buf, { length, version: PDU_VERSION, flag: 0, serviceId, commandId, seqNum, reserved: 0 });
  buf.set(body, PDU_HEADER_LENGTH);
  return buf as Buffer;
}
