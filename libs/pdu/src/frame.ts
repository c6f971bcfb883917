// TeamTalk PDU framing: docs/PROTOCOL.md §1. All integers big-endian.

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

export interface Frame {
  serviceId: number;
  commandId: number;
  seqNum: number;
  body: Buffer;
}

export function readHeader(buf: Buffer, offset = 0): PduHeader {
  if (buf.length - offset < PDU_HEADER_LENGTH) {
    throw new RangeError(`need ${PDU_HEADER_LENGTH} bytes for a PDU header, have ${buf.length - offset}`);
  }
  return {
    length: buf.readUInt32BE(offset),
    version: buf.readUInt16BE(offset + 4),
    flag: buf.readUInt16BE(offset + 6),
    serviceId: buf.readUInt16BE(offset + 8),
    commandId: buf.readUInt16BE(offset + 10),
    seqNum: buf.readUInt16BE(offset + 12),
    reserved: buf.readUInt16BE(offset + 14),
  };
}

/** Writes a header; throws RangeError when a field does not fit its width. */
export function writeHeader(buf: Buffer, h: PduHeader, offset = 0): void {
  buf.writeUInt32BE(h.length, offset);
  buf.writeUInt16BE(h.version, offset + 4);
  buf.writeUInt16BE(h.flag, offset + 6);
  buf.writeUInt16BE(h.serviceId, offset + 8);
  buf.writeUInt16BE(h.commandId, offset + 10);
  buf.writeUInt16BE(h.seqNum, offset + 12);
  buf.writeUInt16BE(h.reserved, offset + 14);
}

/** Builds one PDU (header + body) in a single allocation. */
export function encodeFrame(serviceId: number, commandId: number, seqNum: number, body: Uint8Array): Buffer {
  const length = PDU_HEADER_LENGTH + body.length;
  if (length > MAX_U32) throw new RangeError(`PDU body too large: ${body.length} bytes`);
  const buf = Buffer.allocUnsafe(length);
  writeHeader(buf, { length, version: PDU_VERSION, flag: 0, serviceId, commandId, seqNum, reserved: 0 });
  buf.set(body, PDU_HEADER_LENGTH);
  return buf;
}
