/** Epoch milliseconds (the sidecar's clock) as ISO-8601 for people, null kept. */
export function isoTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
