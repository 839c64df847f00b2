/**
 * Which names hold secrets, and how their values are hidden: one rule for /debug/config and for
 * every log line.
 */

/** Any key whose name contains one of these holds a secret, at any depth. */
const SECRET_NAME = /password|secret|key|token|credential|authorization/i;
export const MASK = '******';

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/**
 * JSON data with the values of secret-named keys masked at any depth; null stays null (there is
 * no secret to hide, and "not set" is worth seeing). Nothing is changed in place: objects and
 * arrays that hold a secret are copied, and the rest is returned as it came, so data without
 * secrets costs a walk and no copy.
 */
export function mask<T>(value: T): T {
  if (Array.isArray(value)) {
    const items = value.map(mask);
    return (items.every((item, i) => item === value[i]) ? value : items) as T;
  }
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const shown = entries.map(([k, v]) => [k, isSecretName(k) && v !== null ? MASK : mask(v)] as const);
  // fromEntries defines each key, "__proto__" included, where assignment would set a prototype.
  return (shown.every(([, v], i) => v === entries[i]![1]) ? value : Object.fromEntries(shown)) as T;
}

/**
 * One JSON log line with its secret-named values masked. Most lines name no secret at all and
 * are returned untouched; the rest are parsed, masked and written again.
 */
export function maskJsonLine(line: string): string {
  if (!SECRET_NAME.test(line)) return line;
  const data = JSON.parse(line) as unknown;
  const masked = mask(data);
  return masked === data ? line : `${JSON.stringify(masked)}\n`;
}
