/**
 * Covers src/sources/zookeeper/leader-info.ts (decodeLeaderInformation, formatUuid) and
 * test/support/leader-info-encoder.ts against bytes written by a real JVM
 * (test/fixtures/leader-info/golden.json), plus malformed, truncated, random and mutated input.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { LeaderInfoDecodeError } from '../../src/errors.js';
import { decodeLeaderInformation, formatUuid } from '../../src/sources/zookeeper/leader-info.js';
import { encodeLeaderInformation } from '../support/leader-info-encoder.js';

interface GoldenFixture {
  readonly name: string;
  readonly address: string;
  readonly sessionId: string;
  readonly hex: string;
}

function loadGolden(): GoldenFixture[] {
  const parsed: unknown = JSON.parse(readFileSync(join(__dirname, '../fixtures/leader-info/golden.json'), 'utf8'));
  assert.ok(Array.isArray(parsed), 'golden.json must be an array');
  return parsed.map((entry: unknown, index) => {
    const f = entry as Record<string, unknown>;
    for (const key of ['name', 'address', 'sessionId', 'hex']) {
      assert.equal(typeof f[key], 'string', `golden.json[${index}].${key}`);
    }
    return f as unknown as GoldenFixture;
  });
}

const golden = loadGolden();
const bytesOf = (f: GoldenFixture): Buffer => Buffer.from(f.hex, 'hex');
const fixture = (name: string): GoldenFixture => {
  const found = golden.find((f) => f.name === name);
  assert.ok(found, `no golden fixture ${name}`);
  return found;
};

const IPV4 = fixture('rest-http-ipv4');
const IPV4_BYTES = bytesOf(IPV4);
/** Offsets in IPV4_BYTES: header 4, block header 2, utf length 2, 20-byte address, then the UUID object. */
const IPV4_OBJECT_AT = 4 + 2 + 2 + IPV4.address.length;
const UUID_CLASS_NAME_AT = IPV4_OBJECT_AT + 2;
const SERIAL_VERSION_UID_AT = UUID_CLASS_NAME_AT + 2 + 'java.util.UUID'.length;

/** The stream header plus one short block data record around raw writeUTF bytes, then IPV4's UUID object. */
function withUtfBody(body: Buffer | number[]): Buffer {
  const utf = Buffer.from(body);
  const blockData = Buffer.concat([Buffer.from([utf.length >> 8, utf.length & 0xff]), utf]);
  assert.ok(blockData.length <= 0xff);
  return Buffer.concat([Buffer.from([0xac, 0xed, 0x00, 0x05, 0x77, blockData.length]), blockData, IPV4_BYTES.subarray(IPV4_OBJECT_AT)]);
}

function replaceAt(base: Buffer, offset: number, replacement: number[] | Buffer, removed = 0): Buffer {
  return Buffer.concat([base.subarray(0, offset), Buffer.from(replacement), base.subarray(offset + (removed || replacement.length))]);
}

/** Asserts a LeaderInfoDecodeError whose message matches, and returns it for further checks. */
function assertDecodeError(data: unknown, message: RegExp): LeaderInfoDecodeError {
  let caught: unknown;
  try {
    decodeLeaderInformation(data as Buffer);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof LeaderInfoDecodeError, `expected LeaderInfoDecodeError, got ${String(caught)}`);
  assert.match(caught.message, message);
  return caught;
}

/** mulberry32: tiny, seeded, reproducible; the seed is in the test names so failures can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('golden fixtures written by a real ObjectOutputStream', () => {
  it('golden.json holds every fixture kind the decoder must handle', () => {
    assert.ok(golden.length >= 20, `only ${golden.length} fixtures`);
    const names = new Set(golden.map((f) => f.name));
    assert.equal(names.size, golden.length, 'fixture names are unique');
  });

  for (const f of golden) {
    it(`decodes ${f.name} to its address and session id`, () => {
      const decoded = decodeLeaderInformation(bytesOf(f));
      assert.ok(decoded);
      assert.equal(decoded.address.length, f.address.length);
      assert.ok(decoded.address === f.address, `address of ${f.name} differs`);
      assert.equal(decoded.sessionId, f.sessionId);
    });
  }

  for (const f of golden) {
    it(`encoder reproduces ${f.name} byte for byte`, () => {
      const encoded = encodeLeaderInformation(f.address, f.sessionId);
      assert.ok(encoded.equals(bytesOf(f)), `encoding of ${f.name} differs from Java's bytes`);
    });
  }

  it('session ids are formatted like Java UUID.toString(): lowercase 8-4-4-4-12', () => {
    for (const f of golden) {
      assert.match(f.sessionId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
    assert.equal(fixture('uuid-all-zero-bits').sessionId, '00000000-0000-0000-0000-000000000000');
    assert.equal(fixture('uuid-all-one-bits').sessionId, 'ffffffff-ffff-ffff-ffff-ffffffffffff');
    assert.equal(fixture('uuid-distinct-halves').sessionId, '01020304-0506-0708-8899-aabbccddeeff');
  });

  it('Java cuts block data into 1024-byte records, 77 up to 255 bytes and 7A above', () => {
    const headerAt = (f: GoldenFixture, offset: number): string => bytesOf(f).toString('hex', offset, offset + 5);
    assert.equal(headerAt(fixture('ascii-253-bytes-largest-short-block'), 4).slice(0, 4), '77ff');
    assert.equal(headerAt(fixture('ascii-254-bytes-first-long-block-header'), 4), '7a00000100');
    assert.equal(headerAt(fixture('ascii-1022-bytes-one-full-block'), 4), '7a00000400');
    assert.equal(headerAt(fixture('ascii-1022-bytes-one-full-block'), 4 + 5 + 1024).slice(0, 2), '73');
    assert.equal(headerAt(fixture('ascii-1023-bytes-two-blocks'), 4 + 5 + 1024).slice(0, 4), '7701');
    // U+4F8B (E4 BE 8B) at block data offset 1023: its first byte ends record one, the rest start record two.
    const split = bytesOf(fixture('three-byte-char-split-across-blocks'));
    assert.equal(split.toString('hex', 4 + 5 + 1022, 4 + 5 + 1024), '36e4');
    assert.equal(split.toString('hex', 4 + 5 + 1024, 4 + 5 + 1024 + 4), '77cabe8b');
  });

  it('formatUuid matches Java UUID.toString() for the longs in every golden fixture', () => {
    for (const f of golden) {
      const tail = bytesOf(f).subarray(-16);
      assert.equal(formatUuid(tail.readBigInt64BE(8), tail.readBigInt64BE(0)), f.sessionId, f.name);
      assert.equal(formatUuid(tail.readBigUInt64BE(8), tail.readBigUInt64BE(0)), f.sessionId, f.name);
    }
  });

  it('formatUuid rejects values outside 64 bits with RangeError', () => {
    assert.throws(() => formatUuid(1n << 64n, 0n), RangeError);
    assert.throws(() => formatUuid(0n, -(1n << 63n) - 1n), RangeError);
  });

  it('encoder rejects addresses longer than 65535 encoded bytes, as Java writeUTF does', () => {
    assert.throws(() => encodeLeaderInformation('a'.repeat(65536), IPV4.sessionId), /at most 65535/);
    assert.throws(() => encodeLeaderInformation('a'.repeat(70000), IPV4.sessionId), /at most 65535/);
    assert.throws(() => encodeLeaderInformation('\u00e9'.repeat(32768), IPV4.sessionId), /65536 bytes/);
    assert.throws(() => encodeLeaderInformation(IPV4.address, 'not-a-uuid'), RangeError);
  });
});

describe('no leader published', () => {
  for (const [name, data] of [
    ['null', null],
    ['undefined', undefined],
    ['an empty Buffer', Buffer.alloc(0)],
  ] as const) {
    it(`returns null for ${name}`, () => {
      assert.equal(decodeLeaderInformation(data), null);
    });
  }
});

describe('block data framing is accepted as Java ObjectInputStream accepts it', () => {
  /** Re-frames the writeUTF block data of `f` with records of the given payload sizes. */
  function reframe(f: GoldenFixture, sizes: (payload: number) => number[], longHeaders: boolean): Buffer {
    const original = bytesOf(f);
    // Only ASCII fixtures are re-framed, so the writeUTF payload is the length and the latin1 bytes.
    const payload = Buffer.concat([Buffer.from([f.address.length >> 8, f.address.length & 0xff]), Buffer.from(f.address, 'latin1')]);
    const parts: Buffer[] = [original.subarray(0, 4)];
    let offset = 0;
    for (const size of sizes(payload.length)) {
      if (longHeaders || size > 0xff) {
        const header = Buffer.alloc(5);
        header[0] = 0x7a;
        header.writeInt32BE(size, 1);
        parts.push(header);
      } else {
        parts.push(Buffer.from([0x77, size]));
      }
      parts.push(payload.subarray(offset, offset + size));
      offset += size;
    }
    assert.equal(offset, payload.length);
    parts.push(original.subarray(original.length - 76));
    return Buffer.concat(parts);
  }

  const cases: [string, GoldenFixture, (n: number) => number[], boolean][] = [
    ['one byte per record', IPV4, (n) => Array.from({ length: n }, () => 1), false],
    ['empty records in between', IPV4, (n) => [0, 3, 0, 0, n - 3, 0], false],
    ['7A headers for short records', IPV4, (n) => [5, n - 5], true],
    ['one record longer than 1024 bytes', fixture('ascii-1500-bytes-two-blocks'), (n) => [n], false],
  ];
  for (const [name, f, sizes, longHeaders] of cases) {
    it(`decodes ${f.name} re-framed with ${name}`, () => {
      assert.deepEqual(decodeLeaderInformation(reframe(f, sizes, longHeaders)), {
        address: f.address,
        sessionId: f.sessionId,
      });
    });
  }

  it('accepts a Uint8Array as well as a Buffer', () => {
    const copy = new Uint8Array(IPV4_BYTES.length + 3).subarray(3);
    copy.set(IPV4_BYTES);
    assert.deepEqual(decodeLeaderInformation(copy as Buffer), { address: IPV4.address, sessionId: IPV4.sessionId });
  });
});

describe('truncated data', () => {
  for (const f of golden) {
    it(`every proper prefix of ${f.name} throws LeaderInfoDecodeError`, () => {
      const full = bytesOf(f);
      for (let length = 1; length < full.length; length++) {
        let caught: unknown;
        try {
          decodeLeaderInformation(full.subarray(0, length));
        } catch (error) {
          caught = error;
        }
        if (!(caught instanceof LeaderInfoDecodeError)) {
          assert.fail(`prefix of ${length} bytes: expected LeaderInfoDecodeError, got ${String(caught)}`);
        }
        if (!/^expected /.test(caught.message) || caught.offset > length) {
          assert.fail(`prefix of ${length} bytes: unhelpful error ${caught.message}`);
        }
      }
    });
  }

  it('says how much of the UUID value is missing', () => {
    assertDecodeError(IPV4_BYTES.subarray(0, IPV4_BYTES.length - 5), /expected 16 bytes of UUID value .*found end of data after 11/);
  });

  it('says how much of a long block data record is missing', () => {
    const long = bytesOf(fixture('ascii-1500-bytes-two-blocks'));
    assertDecodeError(long.subarray(0, 100), /expected 1024 bytes of block data as its header says, found end of data after 91/);
  });
});

describe('data that is not Flink leader information', () => {
  const cases: [string, Buffer, RegExp][] = [
    [
      'JSON bytes',
      Buffer.from('{"address":"http://10.0.0.5:8081","sessionId":"x"}'),
      /^expected stream magic AC ED, found 7B 22 \(at byte 0\)$/,
    ],
    ['a plain UTF-8 URL', Buffer.from('http://10.0.0.5:8081'), /^expected stream magic AC ED, found 68 74 \(at byte 0\)$/],
    ['a single byte', Buffer.from([0xac]), /^expected stream magic AC ED, found end of data after 1 of 2 bytes/],
    ['wrong stream version', replaceAt(IPV4_BYTES, 2, [0x00, 0x04]), /^expected stream version 00 05, found 00 04 \(at byte 3\)$/],
    [
      'only a stream header',
      IPV4_BYTES.subarray(0, 4),
      /expected block data 77 or 7A \(the address written by writeUTF\), found end of data/,
    ],
    [
      'an object where the writeUTF should be',
      Buffer.concat([IPV4_BYTES.subarray(0, 4), IPV4_BYTES.subarray(IPV4_OBJECT_AT)]),
      /expected block data 77 or 7A \(the address written by writeUTF\), found 73 \(TC_OBJECT\) \(at byte 4\)/,
    ],
    [
      'a string object instead of the UUID',
      Buffer.concat([IPV4_BYTES.subarray(0, IPV4_OBJECT_AT), Buffer.from([0x74, 0x00, 0x01, 0x78])]),
      /expected TC_OBJECT \(the leader session id\) after the address 73, found 74 \(TC_STRING\)/,
    ],
    [
      'a null session id (writeObject(null))',
      Buffer.concat([IPV4_BYTES.subarray(0, IPV4_OBJECT_AT), Buffer.from([0x70])]),
      /found 70 \(TC_NULL\): Flink always publishes a session id/,
    ],
    [
      'a proxy class descriptor',
      replaceAt(IPV4_BYTES, IPV4_OBJECT_AT + 1, [0x7d]),
      /expected TC_CLASSDESC \(a new class descriptor\) 72, found 7D \(TC_PROXYCLASSDESC\)/,
    ],
    [
      'another class name of the same length',
      replaceAt(IPV4_BYTES, UUID_CLASS_NAME_AT, Buffer.from('\u0000\u000ejava.util.UUIE', 'latin1')),
      /^expected class java\.util\.UUID, found class "java\.util\.UUIE"/,
    ],
    [
      'another class name of a different length',
      replaceAt(IPV4_BYTES, UUID_CLASS_NAME_AT, Buffer.from('\u0000\u0014com.example.NotAUuid', 'latin1'), 16),
      /^expected class java\.util\.UUID, found class "com\.example\.NotAUuid"/,
    ],
    [
      'a class name whose length runs past the data',
      replaceAt(IPV4_BYTES, UUID_CLASS_NAME_AT, [0xff, 0xff]),
      /^expected class name java\.util\.UUID 00 0E\.\.\., found FF FF 6A 61/,
    ],
    [
      'a wrong serialVersionUID',
      replaceAt(IPV4_BYTES, SERIAL_VERSION_UID_AT + 7, [0x30]),
      /^expected serialVersionUID of java\.util\.UUID BC 99 03 F7 98 6D 85 2F, found BC 99 03 F7 98 6D 85 30 \(at byte 53\)$/,
    ],
    [
      'class flags with SC_WRITE_METHOD',
      replaceAt(IPV4_BYTES, SERIAL_VERSION_UID_AT + 8, [0x03]),
      /^expected class flags SC_SERIALIZABLE 02, found 03/,
    ],
    ['a third field', replaceAt(IPV4_BYTES, SERIAL_VERSION_UID_AT + 9, [0x00, 0x03]), /^expected field count 2 00 02, found 00 03/],
    [
      'a renamed field',
      replaceAt(IPV4_BYTES, SERIAL_VERSION_UID_AT + 11 + 3, Buffer.from('most', 'latin1')),
      /^expected field "J leastSigBits" 4A 00 0C 6C 65 61 73 74 \.\.\., found 4A 00 0C 6D 6F 73 74 74 \.\.\. \(at byte 60\)$/,
    ],
    [
      'a field of type int',
      replaceAt(IPV4_BYTES, SERIAL_VERSION_UID_AT + 11, [0x49]),
      /^expected field "J leastSigBits" .*, found 49 00 0C/,
    ],
    [
      'a class annotation',
      replaceAt(IPV4_BYTES, IPV4_BYTES.length - 18, [0x77]),
      /^expected TC_ENDBLOCKDATA \(no class annotation\) 78, found 77 \(TC_BLOCKDATA\)/,
    ],
    [
      'a superclass descriptor',
      replaceAt(IPV4_BYTES, IPV4_BYTES.length - 17, [0x72]),
      /^expected TC_NULL \(no superclass descriptor\) 70, found 72 \(TC_CLASSDESC\)/,
    ],
    [
      'one trailing byte',
      Buffer.concat([IPV4_BYTES, Buffer.from([0x00])]),
      /^expected end of data after the UUID, found 1 more bytes 00 \(at byte 104\)$/,
    ],
    [
      'a second object after the UUID',
      Buffer.concat([IPV4_BYTES, IPV4_BYTES.subarray(IPV4_OBJECT_AT)]),
      /^expected end of data after the UUID, found 76 more bytes 73 72 00 0E 6A 61 76 61 \.\.\. \(at byte 104\)$/,
    ],
    [
      'the stream written twice',
      Buffer.concat([IPV4_BYTES, IPV4_BYTES]),
      /^expected end of data after the UUID, found 104 more bytes AC ED 00 05/,
    ],
    ['a non-Buffer value', 'http://10.0.0.5:8081' as unknown as Buffer, /^expected a Buffer, found string/],
  ];
  for (const [name, data, message] of cases) {
    it(`rejects ${name} with a message saying what was expected`, () => {
      assertDecodeError(data, message);
    });
  }
});

describe('hostile lengths', () => {
  const header = IPV4_BYTES.subarray(0, 4);
  it('rejects a 7A block length of 0x7FFFFFFF without reading past the data', () => {
    const data = Buffer.concat([header, Buffer.from([0x7a, 0x7f, 0xff, 0xff, 0xff]), Buffer.alloc(16)]);
    const error = assertDecodeError(data, /^expected 2147483647 bytes of block data as its header says, found end of data after 16/);
    assert.equal(error.offset, data.length);
  });
  it('rejects a negative 7A block length', () => {
    assertDecodeError(
      Buffer.concat([header, Buffer.from([0x7a, 0xff, 0xff, 0xff, 0xff, 0x00])]),
      /^expected a non-negative block data length, found -1 \(FF FF FF FF\)/,
    );
  });
  it('rejects a 7A header cut short', () => {
    assertDecodeError(
      Buffer.concat([header, Buffer.from([0x7a, 0x00, 0x00])]),
      /^expected the 4-byte length of a 7A block data record, found end of data after 2 bytes/,
    );
  });
  it('rejects a 77 header without its length byte', () => {
    assertDecodeError(
      Buffer.concat([header, Buffer.from([0x77])]),
      /^expected the 1-byte length of a 77 block data record, found end of data/,
    );
  });
  it('rejects a 77 block length longer than the data', () => {
    assertDecodeError(
      Buffer.concat([header, Buffer.from([0x77, 0xff, 0x00])]),
      /^expected 255 bytes of block data as its header says, found end of data after 1/,
    );
  });
  it('rejects a writeUTF length of 65535 with 20 bytes of address', () => {
    const data = replaceAt(IPV4_BYTES, 6, [0xff, 0xff]);
    assertDecodeError(data, /^expected block data of exactly 2 \+ 65535 bytes as the writeUTF length FF FF says, found 22 bytes/);
  });
  it('rejects block data longer than the writeUTF length says', () => {
    const data = replaceAt(IPV4_BYTES, 6, [0x00, 0x10]);
    const error = assertDecodeError(
      data,
      /^expected block data of exactly 2 \+ 16 bytes as the writeUTF length 00 10 says, found 22 bytes/,
    );
    assert.equal(error.offset, 8 + 16);
  });
  it('rejects block data too short for the writeUTF length field', () => {
    assertDecodeError(
      Buffer.concat([header, Buffer.from([0x77, 0x01, 0x00]), IPV4_BYTES.subarray(IPV4_OBJECT_AT)]),
      /^expected the 2-byte writeUTF length in the block data, found 1 bytes/,
    );
  });
  it('stays linear on a megabyte of empty block data records', () => {
    const records = Buffer.alloc(1 << 20);
    for (let i = 0; i < records.length; i += 2) records[i] = 0x77;
    const started = process.hrtime.bigint();
    assertDecodeError(Buffer.concat([header, records]), /^expected the 2-byte writeUTF length in the block data, found 0 bytes/);
    assert.ok(process.hrtime.bigint() - started < 2_000_000_000n, 'took over 2 s');
  });
});

describe('modified UTF-8 in the address', () => {
  const cases: [string, number[], RegExp][] = [
    ['a raw 00 byte', [0x61, 0x00, 0x62], /^expected modified UTF-8, found a raw 00 byte \(Java writes NUL as C0 80\) \(at byte 9\)$/],
    [
      'a lone continuation byte',
      [0x61, 0x80],
      /^expected the first byte of a modified UTF-8 sequence, found continuation byte 80 \(at byte 9\)$/,
    ],
    [
      'a standard UTF-8 4-byte sequence',
      [0xf0, 0x9f, 0x9a, 0x80],
      /^expected a 1- to 3-byte modified UTF-8 sequence, found lead byte F0 \(Java writes supplementary characters as two 3-byte surrogates\)/,
    ],
    ['an overlong 2-byte A', [0xc1, 0x81], /^expected a shortest-form modified UTF-8 sequence, found overlong C1 81/],
    ['an overlong 3-byte slash', [0xe0, 0x80, 0xaf], /^expected a shortest-form modified UTF-8 sequence, found overlong E0 80 AF/],
    [
      'a 2-byte sequence cut by the end of the string',
      [0x61, 0xc3],
      /^expected a continuation byte after C3, found end of string \(at byte 10\)$/,
    ],
    [
      'a 3-byte sequence cut by the end of the string',
      [0xe4, 0xbe],
      /^expected another continuation byte after E4 BE, found end of string/,
    ],
    ['a bad continuation byte', [0xc3, 0x41], /^expected a continuation byte 80\.\.BF after C3, found 41 \(at byte 9\)$/],
    [
      'a lone high surrogate at the end',
      [0x61, 0xed, 0xa0, 0xbd],
      /^expected a low surrogate after high surrogate U\+D83D, found end of string/,
    ],
    [
      'a high surrogate followed by a letter',
      [0xed, 0xa0, 0xbd, 0x61],
      /^expected a low surrogate after high surrogate U\+D83D, found U\+0061 \(at byte 11\)$/,
    ],
    ['a lone low surrogate', [0xed, 0xba, 0x80], /^expected a high surrogate before low surrogate U\+DE80, found none/],
    [
      'two low surrogates after one high',
      [0xed, 0xa0, 0xbd, 0xed, 0xba, 0x80, 0xed, 0xba, 0x80],
      /^expected a high surrogate before low surrogate U\+DE80, found none \(at byte 14\)$/,
    ],
  ];
  for (const [name, body, message] of cases) {
    it(`rejects ${name}`, () => {
      assertDecodeError(withUtfBody(body), message);
    });
  }

  it('reports invalid UTF-8 inside the second block data record at its real input offset', () => {
    const f = fixture('three-byte-char-split-across-blocks');
    const data = bytesOf(f);
    // The character's second byte is the first payload byte of record two, after its 2-byte header.
    const secondByteAt = 4 + 5 + 1024 + 2;
    assert.equal(data[secondByteAt], 0xbe);
    const error = assertDecodeError(replaceAt(data, secondByteAt, [0x41]), /^expected a continuation byte 80\.\.BF after E4, found 41/);
    assert.equal(error.offset, secondByteAt);
  });

  it('decodes C0 80 as NUL and a surrogate pair as one emoji', () => {
    assert.equal(decodeLeaderInformation(withUtfBody([0x61, 0xc0, 0x80, 0xed, 0xa0, 0xbd, 0xed, 0xba, 0x80]))?.address, 'a\u0000\u{1f680}');
  });
});

describe('random and mutated input never escapes the error contract', () => {
  const SEED = 0x5eed1eaf;

  it(`10,000 random buffers (mulberry32 seed ${SEED.toString(16)}) only ever throw LeaderInfoDecodeError`, { timeout: 30_000 }, () => {
    const random = prng(SEED);
    const structural = [0xac, 0xed, 0x00, 0x05, 0x77, 0x7a, 0x73, 0x72, 0x70, 0x78, 0xc0, 0x80, 0xed, 0xff];
    for (let i = 0; i < 10_000; i++) {
      const length = Math.floor(random() * 300);
      const data = Buffer.alloc(length);
      for (let j = 0; j < length; j++) {
        // Biased toward the bytes the format is made of, so inputs get past the first checks.
        data[j] = random() < 0.5 ? (structural[Math.floor(random() * structural.length)] as number) : Math.floor(random() * 256);
      }
      // Two thirds start like a real stream, one with a plausible first record, to reach deeper code.
      const kind = i % 3;
      if (kind >= 1) IPV4_BYTES.copy(data, 0, 0, Math.min(length, 4));
      if (kind === 2 && length > 6) {
        data[4] = 0x77;
        data[5] = Math.min(0xff, Math.floor(random() * (length - 6)));
      }
      try {
        const result = decodeLeaderInformation(data);
        if (length === 0) assert.equal(result, null);
        else assert.fail(`random buffer ${i} decoded: ${data.toString('hex')}`);
      } catch (error) {
        if (!(error instanceof LeaderInfoDecodeError)) {
          assert.fail(`random buffer ${i} (${data.toString('hex')}) threw ${String(error)}`);
        }
      }
    }
  });

  it(
    `10,000 single-byte mutations of golden values (seed ${(SEED + 1).toString(16)}) throw LeaderInfoDecodeError or decode to different leader information`,
    { timeout: 60_000 },
    () => {
      const random = prng(SEED + 1);
      const buffers = golden.map(bytesOf);
      let decodedAnyway = 0;
      for (let i = 0; i < 10_000; i++) {
        const index = Math.floor(random() * golden.length);
        const f = golden[index] as GoldenFixture;
        const data = buffers[index] as Buffer;
        const position = Math.floor(random() * data.length);
        const original = data[position] as number;
        const replacement = (original + 1 + Math.floor(random() * 255)) & 0xff;
        data[position] = replacement;
        try {
          const result = decodeLeaderInformation(data);
          // Strict decoding is injective: other bytes can never mean the same leader information.
          assert.ok(result, `mutation ${i} decoded to null`);
          assert.ok(
            result.address !== f.address || result.sessionId !== f.sessionId,
            `mutation ${i} of ${f.name} at ${position} decoded to the original`,
          );
          decodedAnyway++;
        } catch (error) {
          if (!(error instanceof LeaderInfoDecodeError)) {
            assert.fail(`mutation ${i} of ${f.name} at ${position} to ${replacement} threw ${String(error)}`);
          }
        } finally {
          data[position] = original;
        }
      }
      // Mutations inside the address text or the UUID value are valid data, so some must decode.
      assert.ok(decodedAnyway > 0 && decodedAnyway < 10_000, `${decodedAnyway} mutations decoded`);
    },
  );
});
