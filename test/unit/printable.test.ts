/** Covers src/core/printable.ts and the status command's table, which must not pass anyone's control characters to a terminal. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { table } from '../../src/cli/status.js';
import { escapeText, isPrintableToken } from '../../src/core/printable.js';

describe('printable text', () => {
  it('takes printable ASCII without whitespace as a token, nothing else', () => {
    assert.equal(isPrintableToken('http://[fd00::1]:8443/a?b=c'), true);
    for (const bad of [
      '',
      'http://a b',
      'http://a\tb',
      'http://a\nb',
      'http://a\u001b[31m',
      'http://a\u007f',
      'http://bücher.example',
      'http://a\u202eb',
    ]) {
      assert.equal(isPrintableToken(bad), false, JSON.stringify(bad));
    }
  });

  it('escapes control characters, escape sequences and non-ASCII, and keeps the rest', () => {
    assert.equal(escapeText('ok: [+] (x)'), 'ok: [+] (x)');
    assert.equal(escapeText('a\nb\tc\rd'), 'a\\nb\\tc\\rd');
    assert.equal(escapeText('\u001b[2J\u0007\u007f'), '\\u{1b}[2J\\u{7}\\u{7f}');
    assert.equal(escapeText('b\u00fccher \u202e \u{1f600}'), 'b\\u{fc}cher \\u{202e} \\u{1f600}');
  });

  it("escapes every cell of the status command's table before padding it", () => {
    const lines = table(['NODE', 'LEADER'], [['_c_x-latch-0000000001\u001b]0;pwned\u0007', 'http://10.0.0.5:8081\n[+]ok']]);
    assert.equal(lines.length, 2);
    assert.deepEqual(
      Array.from(lines.join('')).filter((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f),
      [],
    );
    assert.equal(lines[1], '_c_x-latch-0000000001\\u{1b}]0;pwned\\u{7}  http://10.0.0.5:8081\\n[+]ok');
  });
});
