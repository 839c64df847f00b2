/**
 * Decoder for the data of Flink's leader information znode (`.../connection_info`, or
 * `<component>_lock` before Flink 1.14).
 *
 * Every Flink line from 1.5 to 2.x writes it the same way (ZooKeeperUtils.writeLeaderInformationToZooKeeper,
 * earlier ZooKeeperLeaderElectionService.writeLeaderInformation): a fresh `ObjectOutputStream`,
 * `writeUTF(address)`, `writeObject(UUID leaderSessionId)`, `close()`. Empty leader information is
 * written as null data, and never on revocation: up to 1.14 nothing empty is ever written; 1.15 to
 * 1.17 write null data only when a component unregisters while its JobManager still leads; 1.18 and
 * later delete `leader/<component>` on unregistration, and a new leader first resets the old node
 * to null data under its own session. So the bytes are:
 *
 * ```
 * AC ED 00 05                          stream magic, version
 * 77 LL | 7A LLLLLLLL  (repeated)      block data records; their payloads concatenated are
 *   00 NN <modified UTF-8>             writeUTF: 2-byte length, then the encoded address
 * 73 72 00 0E "java.util.UUID"         TC_OBJECT, TC_CLASSDESC, class name
 *   BC 99 03 F7 98 6D 85 2F 02         serialVersionUID, flags SC_SERIALIZABLE
 *   00 02 4A 00 0C "leastSigBits"      two fields, sorted by name
 *         4A 00 0B "mostSigBits"
 *   78 70                              end of class annotation, no superclass
 * <leastSigBits 8 bytes BE> <mostSigBits 8 bytes BE>
 * ```
 *
 * Strictness is deliberate: these bytes decide which pod receives traffic, so anything that is not
 * what Flink writes is reported as an error instead of being guessed at. Two places follow Java's
 * reader (`ObjectInputStream`, which is what Flink itself reads with) rather than the writer:
 * - Block data framing. `ObjectOutputStream` cuts block data into 1024-byte records (header 77 for up
 *   to 255 bytes, 7A above), cutting through multi-byte characters; the reader accepts any framing,
 *   including empty records. Framing carries no meaning, so any framing of the right bytes is
 *   accepted; the work stays linear because each record header consumes input.
 * - Nothing else. Where the reader is lax about meaning (overlong UTF-8, lone surrogates, extra class
 *   fields, trailing bytes) this decoder is not: Flink never writes those, so they signal corruption
 *   or a different writer.
 */

import { LeaderInfoDecodeError } from '../../errors.js';

/** What a leader published: its address and the leader session id it confirmed. */
export interface LeaderInformation {
  /**
   * The address exactly as Flink wrote it: for rest_server `http(s)://<host>:<port>`, for the RPC
   * components `akka.tcp://...` or `pekko.tcp://...`. May be empty: Flink does not forbid it.
   */
  address: string;
  /**
   * The leader session id formatted exactly like Java's `UUID.toString()`: 36 characters, lowercase
   * hex, groups 8-4-4-4-12. This is the form Flink logs and the form Kubernetes HA stores in its
   * ConfigMaps, so ids from every source compare as plain strings.
   */
  sessionId: string;
}

const STREAM_MAGIC_AND_VERSION = Uint8Array.of(0xac, 0xed, 0x00, 0x05);
const TC_BLOCKDATA = 0x77;
const TC_BLOCKDATALONG = 0x7a;
const TC_OBJECT = 0x73;

/** leastSigBits and mostSigBits, 8 bytes each. */
const UUID_VALUE_BYTES = 16;

/**
 * Everything between the address and the UUID's two longs is constant, since java.util.UUID has been
 * serialized the same way since Java 1.5. Matched part by part so that a mismatch names the part.
 */
const UUID_DESCRIPTOR: readonly { readonly what: string; readonly bytes: Uint8Array; readonly isClassName?: true }[] = [
  { what: 'TC_OBJECT (the leader session id) after the address', bytes: Uint8Array.of(TC_OBJECT) },
  { what: 'TC_CLASSDESC (a new class descriptor)', bytes: Uint8Array.of(0x72) },
  { what: 'class name java.util.UUID', bytes: utfBytes('java.util.UUID'), isClassName: true },
  {
    what: 'serialVersionUID of java.util.UUID',
    bytes: Uint8Array.of(0xbc, 0x99, 0x03, 0xf7, 0x98, 0x6d, 0x85, 0x2f),
  },
  { what: 'class flags SC_SERIALIZABLE', bytes: Uint8Array.of(0x02) },
  { what: 'field count 2', bytes: Uint8Array.of(0x00, 0x02) },
  { what: 'field "J leastSigBits"', bytes: Uint8Array.of(0x4a, ...utfBytes('leastSigBits')) },
  { what: 'field "J mostSigBits"', bytes: Uint8Array.of(0x4a, ...utfBytes('mostSigBits')) },
  { what: 'TC_ENDBLOCKDATA (no class annotation)', bytes: Uint8Array.of(0x78) },
  { what: 'TC_NULL (no superclass descriptor)', bytes: Uint8Array.of(0x70) },
];

const TYPE_CODE_NAMES: Readonly<Record<number, string>> = {
  0x70: 'TC_NULL',
  0x71: 'TC_REFERENCE',
  0x72: 'TC_CLASSDESC',
  0x73: 'TC_OBJECT',
  0x74: 'TC_STRING',
  0x75: 'TC_ARRAY',
  0x76: 'TC_CLASS',
  0x77: 'TC_BLOCKDATA',
  0x78: 'TC_ENDBLOCKDATA',
  0x79: 'TC_RESET',
  0x7a: 'TC_BLOCKDATALONG',
  0x7b: 'TC_EXCEPTION',
  0x7c: 'TC_LONGSTRING',
  0x7d: 'TC_PROXYCLASSDESC',
  0x7e: 'TC_ENUM',
};

/** Longest byte excerpt an error message shows: enough to recognise data, too little to leak it. */
const MAX_EXCERPT_BYTES = 8;
/** Longest class name an error message shows. */
const MAX_EXCERPT_CHARS = 40;
/** String.fromCharCode.apply argument count per call, far below any engine's argument limit. */
const CHAR_CODE_CHUNK = 8192;
/** No high surrogate is waiting for its low half. */
const NO_SURROGATE = -1;

/**
 * Decodes the data of a leader information znode.
 *
 * @param data the znode data as node-zookeeper-client returns it (a Buffer, or null / empty when the
 *   node has no data). A plain Uint8Array is accepted too.
 * @returns null when there is no data (null data means "no leader published": see the top of this
 *   file for when Flink writes it); otherwise the published address and session id.
 * @throws LeaderInfoDecodeError for anything that is not exactly what Flink writes, with a message
 *   saying what was expected and what was found (at most a few bytes of it) and the byte offset.
 *   Never throws anything else. Runs in time linear in `data.length` whatever the content.
 */
export function decodeLeaderInformation(data: Buffer | null | undefined): LeaderInformation | null {
  // Typed as unknown because callers in plain JavaScript (or a mistyped client) may pass anything.
  const input: unknown = data;
  if (input === null || input === undefined) {
    return null;
  }
  if (!(input instanceof Uint8Array)) {
    throw new LeaderInfoDecodeError(`expected a Buffer, found ${describeValue(input)}`, 0);
  }
  if (input.length === 0) {
    return null;
  }
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  try {
    return decode(buf);
  } catch (error) {
    if (error instanceof LeaderInfoDecodeError) {
      throw error;
    }
    // Every read is bounds-checked, so this is a bug here, not bad input; still keep the contract.
    throw new LeaderInfoDecodeError('internal decoder error', 0, { cause: error });
  }
}

/**
 * Formats a UUID given as Java's two longs exactly like Java's `UUID.toString()`.
 *
 * @param msb `getMostSignificantBits()`, signed (as Java returns it) or unsigned 64-bit
 * @param lsb `getLeastSignificantBits()`, signed or unsigned 64-bit
 * @returns 36 characters, lowercase hex, 8-4-4-4-12
 * @throws RangeError if either value does not fit in 64 bits
 */
export function formatUuid(msb: bigint, lsb: bigint): string {
  const hex = toUnsigned64(msb, 'msb').toString(16).padStart(16, '0') + toUnsigned64(lsb, 'lsb').toString(16).padStart(16, '0');
  return formatUuidHex(hex);
}

function toUnsigned64(value: bigint, name: string): bigint {
  if (value < -(1n << 63n) || value >= 1n << 64n) {
    throw new RangeError(`${name} ${value} does not fit in 64 bits`);
  }
  return BigInt.asUintN(64, value);
}

function formatUuidHex(hex32: string): string {
  return `${hex32.slice(0, 8)}-${hex32.slice(8, 12)}-${hex32.slice(12, 16)}-${hex32.slice(16, 20)}-${hex32.slice(20, 32)}`;
}

function decode(buf: Buffer): LeaderInformation {
  expectBytes(buf, 0, STREAM_MAGIC_AND_VERSION.subarray(0, 2), 'stream magic');
  expectBytes(buf, 2, STREAM_MAGIC_AND_VERSION.subarray(2, 4), 'stream version');

  const blocks = readBlockData(buf, STREAM_MAGIC_AND_VERSION.length);
  const address = decodeWriteUtf(buf, blocks);

  let pos = blocks.end;
  if (buf[pos] === 0x70) {
    // writeObject(null): readable by Java, but LeaderInformation.known() never lets Flink publish it.
    throw new LeaderInfoDecodeError(
      'expected TC_OBJECT 73 (the leader session id) after the address, found 70 (TC_NULL): Flink always publishes a session id',
      pos,
    );
  }
  for (const part of UUID_DESCRIPTOR) {
    if (part.isClassName) {
      expectClassName(buf, pos, part.bytes);
    } else {
      expectBytes(buf, pos, part.bytes, part.what);
    }
    pos += part.bytes.length;
  }

  if (buf.length - pos < UUID_VALUE_BYTES) {
    throw new LeaderInfoDecodeError(
      `expected ${UUID_VALUE_BYTES} bytes of UUID value (leastSigBits, mostSigBits), found end of data after ${buf.length - pos}`,
      buf.length,
    );
  }
  // Java writes leastSigBits first (fields sorted by name); toString() prints mostSigBits first.
  const hex = buf.toString('hex', pos + 8, pos + 16) + buf.toString('hex', pos, pos + 8);
  pos += UUID_VALUE_BYTES;

  if (pos !== buf.length) {
    throw new LeaderInfoDecodeError(`expected end of data after the UUID, found ${buf.length - pos} more bytes ${excerpt(buf, pos)}`, pos);
  }
  return { address, sessionId: formatUuidHex(hex) };
}

/** Where the consecutive block data records start and end, and how many payload bytes they hold. */
interface BlockData {
  readonly start: number;
  readonly end: number;
  readonly records: number;
  readonly payloadBytes: number;
}

/**
 * Scans the block data records that hold the writeUTF, without copying: the common short address is
 * one record and is decoded in place.
 */
function readBlockData(buf: Buffer, start: number): BlockData {
  let pos = start;
  let records = 0;
  let payloadBytes = 0;
  for (;;) {
    if (pos >= buf.length) {
      if (records === 0) {
        throw new LeaderInfoDecodeError('expected block data 77 or 7A (the address written by writeUTF), found end of data', pos);
      }
      break;
    }
    const code = buf[pos] as number;
    let length: number;
    let headerBytes: number;
    if (code === TC_BLOCKDATA) {
      headerBytes = 2;
      if (buf.length - pos < headerBytes) {
        throw new LeaderInfoDecodeError('expected the 1-byte length of a 77 block data record, found end of data', buf.length);
      }
      length = buf[pos + 1] as number;
    } else if (code === TC_BLOCKDATALONG) {
      headerBytes = 5;
      if (buf.length - pos < headerBytes) {
        throw new LeaderInfoDecodeError(
          `expected the 4-byte length of a 7A block data record, found end of data after ${buf.length - pos - 1} bytes`,
          buf.length,
        );
      }
      length = buf.readInt32BE(pos + 1);
      if (length < 0) {
        throw new LeaderInfoDecodeError(
          `expected a non-negative block data length, found ${length} (${hexBytes(buf, pos + 1, 4)})`,
          pos + 1,
        );
      }
    } else {
      if (records === 0) {
        throw new LeaderInfoDecodeError(
          `expected block data 77 or 7A (the address written by writeUTF), found ${describeTypeCode(code)}`,
          pos,
        );
      }
      break;
    }
    const remaining = buf.length - pos - headerBytes;
    if (length > remaining) {
      throw new LeaderInfoDecodeError(
        `expected ${length} bytes of block data as its header says, found end of data after ${remaining}`,
        buf.length,
      );
    }
    pos += headerBytes + length;
    payloadBytes += length;
    records += 1;
  }
  return { start, end: pos, records, payloadBytes };
}

/** The block data payload as one contiguous view; copies only when Java split it into several records. */
function joinPayload(buf: Buffer, blocks: BlockData): Buffer {
  if (blocks.records === 1) {
    const headerBytes = buf[blocks.start] === TC_BLOCKDATA ? 2 : 5;
    return buf.subarray(blocks.start + headerBytes, blocks.end);
  }
  const joined = Buffer.allocUnsafe(blocks.payloadBytes);
  let written = 0;
  forEachRecord(buf, blocks, (payloadStart, length) => {
    buf.copy(joined, written, payloadStart, payloadStart + length);
    written += length;
  });
  return joined;
}

/** Maps an offset in the joined payload back to the input, so errors point at the real byte. */
function inputOffset(buf: Buffer, blocks: BlockData, payloadOffset: number): number {
  let seen = 0;
  let found = blocks.end;
  forEachRecord(buf, blocks, (payloadStart, length) => {
    if (found === blocks.end && payloadOffset < seen + length) {
      found = payloadStart + (payloadOffset - seen);
    }
    seen += length;
  });
  return found;
}

/** Walks records already validated by readBlockData. */
function forEachRecord(buf: Buffer, blocks: BlockData, visit: (payloadStart: number, length: number) => void): void {
  let pos = blocks.start;
  while (pos < blocks.end) {
    const isShort = buf[pos] === TC_BLOCKDATA;
    const headerBytes = isShort ? 2 : 5;
    const length = isShort ? (buf[pos + 1] as number) : buf.readInt32BE(pos + 1);
    visit(pos + headerBytes, length);
    pos += headerBytes + length;
  }
}

function decodeWriteUtf(buf: Buffer, blocks: BlockData): string {
  if (blocks.payloadBytes < 2) {
    throw new LeaderInfoDecodeError(
      `expected the 2-byte writeUTF length in the block data, found ${blocks.payloadBytes} bytes of block data`,
      blocks.end,
    );
  }
  const payload = joinPayload(buf, blocks);
  const utfLength = payload.readUInt16BE(0);
  if (utfLength !== payload.length - 2) {
    throw new LeaderInfoDecodeError(
      `expected block data of exactly 2 + ${utfLength} bytes as the writeUTF length ${hexBytes(payload, 0, 2)} says, found ${payload.length} bytes`,
      utfLength > payload.length - 2 ? blocks.end : inputOffset(buf, blocks, 2 + utfLength),
    );
  }
  const result = decodeModifiedUtf8(payload, 2, payload.length);
  if (typeof result === 'string') {
    return result;
  }
  throw new LeaderInfoDecodeError(result.message, inputOffset(buf, blocks, result.offset));
}

/** A decoding failure at an offset of the bytes being decoded (mapped to the input by the caller). */
interface Utf8Failure {
  readonly message: string;
  readonly offset: number;
}

/**
 * Decodes Java's modified UTF-8 (DataOutput.writeUTF) as Java writes it: UTF-16 code units each as
 * 1 to 3 bytes, NUL as C0 80, supplementary characters as two 3-byte surrogates. Rejects what Java
 * never writes: a raw 00, overlong forms other than C0 80, 4-byte sequences, lone surrogates, which
 * also keeps the result a well-formed string that is safe to log and compare.
 */
function decodeModifiedUtf8(bytes: Buffer, start: number, end: number): string | Utf8Failure {
  let isPlainAscii = true;
  for (let i = start; i < end; i++) {
    const b = bytes[i] as number;
    if (b === 0 || b >= 0x80) {
      isPlainAscii = false;
      break;
    }
  }
  if (isPlainAscii) {
    return bytes.toString('latin1', start, end);
  }

  const units = new Uint16Array(end - start);
  let count = 0;
  let pendingHigh = NO_SURROGATE;
  let pos = start;
  while (pos < end) {
    const b0 = bytes[pos] as number;
    let unit: number;
    let size: number;
    if (b0 === 0) {
      return { message: 'expected modified UTF-8, found a raw 00 byte (Java writes NUL as C0 80)', offset: pos };
    } else if (b0 < 0x80) {
      unit = b0;
      size = 1;
    } else if (b0 < 0xc0) {
      return {
        message: `expected the first byte of a modified UTF-8 sequence, found continuation byte ${hex2(b0)}`,
        offset: pos,
      };
    } else if (b0 < 0xe0) {
      size = 2;
      const b1 = continuation(bytes, pos, 1, end);
      if (typeof b1 !== 'number') return b1;
      unit = ((b0 & 0x1f) << 6) | (b1 & 0x3f);
      if (unit < 0x80 && unit !== 0) {
        return {
          message: `expected a shortest-form modified UTF-8 sequence, found overlong ${hexBytes(bytes, pos, 2)}`,
          offset: pos,
        };
      }
    } else if (b0 < 0xf0) {
      size = 3;
      const b1 = continuation(bytes, pos, 1, end);
      if (typeof b1 !== 'number') return b1;
      const b2 = continuation(bytes, pos, 2, end);
      if (typeof b2 !== 'number') return b2;
      unit = ((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
      if (unit < 0x800) {
        return {
          message: `expected a shortest-form modified UTF-8 sequence, found overlong ${hexBytes(bytes, pos, 3)}`,
          offset: pos,
        };
      }
    } else {
      return {
        message: `expected a 1- to 3-byte modified UTF-8 sequence, found lead byte ${hex2(b0)} (Java writes supplementary characters as two 3-byte surrogates)`,
        offset: pos,
      };
    }

    if (pendingHigh !== NO_SURROGATE) {
      if (unit < 0xdc00 || unit > 0xdfff) {
        return {
          message: `expected a low surrogate after high surrogate ${hex4(pendingHigh)}, found ${hex4(unit)}`,
          offset: pos,
        };
      }
      pendingHigh = NO_SURROGATE;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      return { message: `expected a high surrogate before low surrogate ${hex4(unit)}, found none`, offset: pos };
    } else if (unit >= 0xd800 && unit <= 0xdbff) {
      pendingHigh = unit;
    }
    units[count++] = unit;
    pos += size;
  }
  if (pendingHigh !== NO_SURROGATE) {
    return {
      message: `expected a low surrogate after high surrogate ${hex4(pendingHigh)}, found end of string`,
      offset: end,
    };
  }

  let text = '';
  for (let i = 0; i < count; i += CHAR_CODE_CHUNK) {
    // A typed array is a valid argument list, so no per-character array is built.
    text += String.fromCharCode.apply(null, units.subarray(i, Math.min(count, i + CHAR_CODE_CHUNK)) as unknown as number[]);
  }
  return text;
}

/** The continuation byte at `pos + index`, or why there is none. */
function continuation(bytes: Buffer, pos: number, index: number, end: number): number | Utf8Failure {
  const at = pos + index;
  if (at >= end) {
    return {
      message: `expected ${index === 1 ? 'a' : 'another'} continuation byte after ${hexBytes(bytes, pos, index)}, found end of string`,
      offset: at,
    };
  }
  const b = bytes[at] as number;
  if ((b & 0xc0) !== 0x80) {
    return {
      message: `expected a continuation byte 80..BF after ${hexBytes(bytes, pos, index)}, found ${hex2(b)}`,
      offset: at,
    };
  }
  return b;
}

/** Compares the class name, and on mismatch shows the name found, since that says what was written. */
function expectClassName(buf: Buffer, pos: number, expected: Uint8Array): void {
  if (matches(buf, pos, expected)) {
    return;
  }
  if (buf.length - pos < expected.length && matches(buf, pos, expected.subarray(0, buf.length - pos))) {
    throw new LeaderInfoDecodeError(
      `expected class name java.util.UUID (${expected.length} bytes), found end of data after ${buf.length - pos}`,
      buf.length,
    );
  }
  if (buf.length - pos >= 2) {
    const length = buf.readUInt16BE(pos);
    if (length <= buf.length - pos - 2) {
      const shown = Math.min(length, MAX_EXCERPT_CHARS);
      const name = JSON.stringify(buf.toString('latin1', pos + 2, pos + 2 + shown)) + (shown < length ? '...' : '');
      throw new LeaderInfoDecodeError(`expected class java.util.UUID, found class ${name}`, pos);
    }
  }
  throw new LeaderInfoDecodeError(`expected class name java.util.UUID ${hexBytes(expected, 0, 2)}..., found ${excerpt(buf, pos)}`, pos);
}

/** Throws unless `expected` occurs at `pos`; the message shows expected and found bytes. */
function expectBytes(buf: Buffer, pos: number, expected: Uint8Array, what: string): void {
  if (matches(buf, pos, expected)) {
    return;
  }
  const available = buf.length - pos;
  if (available < expected.length && matches(buf, pos, expected.subarray(0, Math.max(0, available)))) {
    throw new LeaderInfoDecodeError(
      `expected ${what} ${hexBytes(expected, 0, expected.length)}, found end of data after ${Math.max(0, available)} of ${expected.length} bytes`,
      buf.length,
    );
  }
  let firstDifference = pos;
  const compareEnd = Math.min(buf.length, pos + expected.length);
  while (firstDifference < compareEnd && buf[firstDifference] === expected[firstDifference - pos]) {
    firstDifference++;
  }
  const foundBytes = Math.min(expected.length, available);
  const found = expected.length === 1 ? describeTypeCode(buf[pos] as number) : hexBytes(buf, pos, foundBytes);
  throw new LeaderInfoDecodeError(`expected ${what} ${hexBytes(expected, 0, expected.length)}, found ${found}`, firstDifference);
}

function matches(buf: Buffer, pos: number, expected: Uint8Array): boolean {
  if (buf.length - pos < expected.length) {
    return false;
  }
  for (let i = 0; i < expected.length; i++) {
    if (buf[pos + i] !== expected[i]) {
      return false;
    }
  }
  return true;
}

function describeTypeCode(code: number): string {
  const name = TYPE_CODE_NAMES[code];
  return name === undefined ? hex2(code) : `${hex2(code)} (${name})`;
}

function describeValue(value: unknown): string {
  if (typeof value === 'object') {
    return value === null ? 'null' : `an object (${Object.prototype.toString.call(value)})`;
  }
  return typeof value;
}

/** Up to MAX_EXCERPT_BYTES bytes from `pos`, for messages. */
function excerpt(buf: Buffer, pos: number): string {
  const shown = Math.min(MAX_EXCERPT_BYTES, buf.length - pos);
  if (shown <= 0) {
    return 'end of data';
  }
  return hexBytes(buf, pos, shown) + (buf.length - pos > shown ? ' ...' : '');
}

/** Uppercase space-separated hex of at most MAX_EXCERPT_BYTES bytes, as the Java spec writes them. */
function hexBytes(bytes: Uint8Array, pos: number, count: number): string {
  const parts: string[] = [];
  const end = Math.min(bytes.length, pos + Math.min(count, MAX_EXCERPT_BYTES));
  for (let i = pos; i < end; i++) {
    parts.push(hex2(bytes[i] as number));
  }
  return parts.join(' ') + (count > MAX_EXCERPT_BYTES ? ' ...' : '');
}

function hex2(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}

function hex4(unit: number): string {
  return `U+${unit.toString(16).toUpperCase().padStart(4, '0')}`;
}

function utfBytes(ascii: string): Uint8Array {
  return Uint8Array.of(ascii.length >> 8, ascii.length & 0xff, ...Buffer.from(ascii, 'latin1'));
}
