import { encodeFrame, readHeader, writeHeader } from './index';

describe('encodeFrame / header', () => {
  it('writes the 16-byte big-endian header TeamTalk expects', () => {
    const pdu = encodeFrame(0x0003, 0x0301, 0x1234, Buffer.from('hi'));
    expect(pdu.toString('hex')).toBe('00000012' + '0001' + '0000' + '0003' + '0301' + '1234' + '0000' + '6869');
  });

  it('round-trips a header through writeHeader/readHeader', () => {
    const h = { length: 0x01020304, version: 1, flag: 0, serviceId: 0xfffe, commandId: 0x0a0b, seqNum: 65535, reserved: 7 };
    const buf = Buffer.alloc(20);
    writeHeader(buf, h, 4);
    expect(readHeader(buf, 4)).toEqual(h);
  });

  it('reads back what encodeFrame wrote', () => {
    const pdu = encodeFrame(7, 0x0701, 42, Buffer.alloc(10));
    expect(readHeader(pdu)).toEqual({ length: 26, version: 1, flag: 0, serviceId: 7, commandId: 0x0701, seqNum: 42, reserved: 0 });
  });

  it('rejects ids that do not fit 16 bits', () => {
    // Node's RangeError comes from another realm under jest, so match the message.
    expect(() => encodeFrame(1, 0x10000, 0, Buffer.alloc(0))).toThrow(/out of range/);
  });
});

