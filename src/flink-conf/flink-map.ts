/**
 * Flink's text syntax for map-valued options (ConfigurationUtils#parseMap over
 * StructuredOptionsSplitter#splitEscaped): entries split at ',' and each entry at ':' into exactly a
 * key and a value. A part may be quoted with ' or " (a doubled quote stands for itself) to hold the
 * delimiters: `digest:'flink:secret'`. Unquoted parts are trimmed; blanks between parts are skipped.
 * Errors never quote the text: map options can hold credentials.
 */

/** A reason the text is not a Flink map; fixed text only. */
export class FlinkMapSyntaxError extends Error {
  override readonly name = 'FlinkMapSyntaxError';
}

type Token = { kind: 'quoted' | 'plain' | 'delimiter'; text: string };

function tokenize(text: string, delimiter: string): Token[] {
  const tokens: Token[] = [];
  let cursor = 0;
  while (cursor < text.length) {
    const c = text.charAt(cursor);
    if (c === "'" || c === '"') {
      let value = '';
      let i = cursor + 1;
      for (;;) {
        if (i >= text.length) throw new FlinkMapSyntaxError('a quote is not closed');
        const d = text.charAt(i);
        if (d === c && text.charAt(i + 1) === c) {
          value += c;
          i += 2;
        } else if (d === c) {
          break;
        } else {
          value += d;
          i += 1;
        }
      }
      tokens.push({ kind: 'quoted', text: value });
      cursor = i + 1;
    } else if (c === delimiter) {
      tokens.push({ kind: 'delimiter', text: c });
      cursor += 1;
    } else if (/\s/.test(c)) {
      cursor += 1;
    } else {
      const end = text.indexOf(delimiter, cursor);
      const stop = end === -1 ? text.length : end;
      tokens.push({ kind: 'plain', text: text.slice(cursor, stop).trim() });
      cursor = stop;
    }
  }
  return tokens;
}

/** StructuredOptionsSplitter#splitEscaped. */
export function splitEscaped(text: string, delimiter: string): string[] {
  const tokens = tokenize(text, delimiter);
  const parts: string[] = [];
  tokens.forEach((token, i) => {
    const next = tokens[i + 1];
    if (token.kind === 'quoted') {
      if (next !== undefined && next.kind !== 'delimiter') throw new FlinkMapSyntaxError('text follows a closing quote');
      parts.push(token.text);
    } else if (token.kind === 'plain') {
      parts.push(token.text);
    } else if (next?.kind === 'delimiter') {
      parts.push('');
    }
  });
  return parts;
}

/** ConfigurationUtils#parseMap: key and value pairs in the order written; a repeated key is an error, as in Flink. */
export function parseFlinkMap(text: string): [string, string][] {
  const pairs = splitEscaped(text, ',').map((entry) => splitEscaped(entry, ':'));
  const seen = new Set<string>();
  return pairs.map((pair) => {
    const [key, value] = pair;
    if (pair.length !== 2 || key === undefined || value === undefined) {
      throw new FlinkMapSyntaxError("an entry is not one key and one value (quote a value that holds ':', e.g. digest:'user:password')");
    }
    if (seen.has(key)) throw new FlinkMapSyntaxError('a key appears twice');
    seen.add(key);
    return [key, value];
  });
}
