/**
 * Text that reaches people: leader addresses come from znodes and ConfigMaps that anyone with
 * write access can fill, and they end up in /readyz?verbose, the status command's table and a
 * terminal. An address must be printable ASCII without whitespace (WHATWG URL parsing silently
 * drops newlines and tabs, so parsing alone would let `http://10.0.0.6:8081/\n[+]leadership ok`
 * through); every other detail is escaped before it is written as text.
 */

/** Printable ASCII without whitespace: what a leader URL is made of. */
export function isPrintableToken(text: string): boolean {
  return /^[\x21-\x7e]+$/.test(text);
}

/** `text` with everything outside printable ASCII (control characters, escape sequences, non-ASCII) written as \n, \t, \r or \u{…}. */
export function escapeText(text: string): string {
  return text.replace(/[^\x20-\x7e]/gu, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    return `\\u{${c.codePointAt(0)!.toString(16)}}`;
  });
}
