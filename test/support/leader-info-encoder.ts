/**
 * Test-only encoder of Flink's leader information znode data: the bytes Flink's
 * `ObjectOutputStream` writes for `writeUTF(address)` then `writeObject(UUID)`, byte for byte
 * (checked against JVM-written fixtures in test/unit/leader-info-decoder.test.ts). Lets tests of other
 * modules publish leader information into a real ZooKeeper without a JVM.
 */

/** ObjectOutputStream's block data buffer: it flushes a record each time 1024 bytes are buffered. */
const MAX_BLOCK_BYTES = 1024;
/** writeUTF's 2-byte length prefix caps the encoded string; Java throws UTFDataFormatException above. */
const MAX_UTF_BYTES = 0xffff;

const CANONICAL_UUID = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i;

/** TC_OBJECT, TC_CLASSDESC, "java.util.UUID", serialVersionUID, flags, 2 fields, end of annotation, no superclass. */
const UUID_DESCRIPTOR = Buffer.from(
  '7372000e6a6176612e7574696c2e55554944bc9903f7986d852f0200024a000c6c65617374536967426974734a000b6d6f7374536967426974737870',
  'hex',
);

/**
 * Encodes leader information exactly as Flink writes it to ZooKeeper.
 *
 * @param address any string; JavaScript strings are UTF-16 like Java's, so lone surrogates encode as
 *   Java would encode them (the decoder rejects those, as Flink never produces them)
 * @param sessionId a UUID in the 8-4-4-4-12 hex form (either case; Java's toString() is lowercase)
 * @returns the znode data: stream header, block data records of at most 1024 bytes, the UUID object
 * @throws RangeError when the address encodes to more than 65535 bytes (Java throws
 *   UTFDataFormatException, so Flink could not publish it) or the session id is not a UUID
 */
export function encodeLeaderInformation(address: string, sessionId: string): Buffer {
  const uuid = CANONICAL_UUID.exec(sessionId);
  if (uuid === null) {
    throw new RangeError(`not a UUID in 8-4-4-4-12 form: ${JSON.stringify(sessionId)}`);
  }
  const msbHex = `${uuid[1]}${uuid[2]}${uuid[3]}`;
  const lsbHex = `${uuid[4]}${uuid[5]}`;

  const utf = encodeModifiedUtf8(address);
  if (utf.length > MAX_UTF_BYTES) {
    throw new RangeError(`address encodes to ${utf.length} bytes; writeUTF allows at most ${MAX_UTF_BYTES}`);
  }
  const blockData = Buffer.alloc(2 + utf.length);
  blockData.writeUInt16BE(utf.length, 0);
  utf.copy(blockData, 2);

  const parts: Buffer[] = [Buffer.from([0xac, 0xed, 0x00, 0x05])];
  for (let offset = 0; offset < blockData.length; offset += MAX_BLOCK_BYTES) {
    const chunk = blockData.subarray(offset, Math.min(blockData.length, offset + MAX_BLOCK_BYTES));
    parts.push(blockHeader(chunk.length), chunk);
  }
  // Field values follow the descriptor's field order (sorted by name): leastSigBits first.
  parts.push(UUID_DESCRIPTOR, Buffer.from(lsbHex, 'hex'), Buffer.from(msbHex, 'hex'));
  return Buffer.concat(parts);
}

/** TC_BLOCKDATA with a 1-byte length when it fits, else TC_BLOCKDATALONG, as ObjectOutputStream chooses. */
function blockHeader(length: number): Buffer {
  if (length <= 0xff) {
    return Buffer.from([0x77, length]);
  }
  const header = Buffer.alloc(5);
  header[0] = 0x7a;
  header.writeInt32BE(length, 1);
  return header;
}

/** Java's DataOutput.writeUTF body: each UTF-16 code unit as 1 to 3 bytes, NUL as C0 80. */
function encodeModifiedUtf8(text: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0x01 && unit <= 0x7f) {
      out.push(unit);
    } else if (unit <= 0x7ff) {
      out.push(0xc0 | (unit >> 6), 0x80 | (unit & 0x3f));
    } else {
      out.push(0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f));
    }
  }
  return Buffer.from(out);
}
