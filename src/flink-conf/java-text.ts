/**
 * The few java.lang behaviours Flink's configuration parsing leans on, so that the sidecar reads a
 * value exactly as the JobManager does.
 */

/** java.lang.String#trim: strips every char up to U+0020 at both ends (controls too, but not U+00A0 or other Unicode spaces). */
export function javaTrim(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) <= 0x20) start++;
  while (end > start && text.charCodeAt(end - 1) <= 0x20) end--;
  return text.slice(start, end);
}

/**
 * java.lang.Double#toString, which Flink uses for a YAML float: '1.0', '0.001', '1.0E7', '1.5E-5',
 * 'NaN', 'Infinity'. Digits are JavaScript's shortest round-trip ones; JDKs before 19 sometimes
 * print one more digit, which no setting the sidecar reads depends on.
 */
export function javaDoubleToString(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    const plain = String(value);
    return plain.includes('.') ? plain : `${plain}.0`;
  }
  const [mantissa = '', exponent = ''] = value.toExponential().split('e');
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${exponent.replace('+', '')}`;
}
