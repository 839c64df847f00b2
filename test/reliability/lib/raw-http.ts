/** Raw HTTP over TCP, for requests a well-behaved client library would refuse to send. */
import net from 'node:net';

export interface RawAnswer {
  /** Status of the first response; null when the server closed without answering. */
  status: number | null;
  head: string;
  /** Whether the server closed the connection (rather than this side timing out). */
  closedByServer: boolean;
  ms: number;
}

/** Sends `bytes` on a fresh connection and reads until the server closes or `timeoutMs` passes. */
export function rawRequest(port: number, bytes: string | Buffer, timeoutMs = 2000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closedByServer = false;
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      // One complete response head is enough unless the body is wanted: stop at the blank line.
      if (Buffer.concat(chunks).includes('\r\n\r\n')) socket.end();
    });
    socket.on('end', () => (closedByServer = true));
    socket.on('error', () => (closedByServer = true));
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : null, head: text.split('\r\n\r\n')[0] ?? '', closedByServer, ms: performance.now() - started });
    });
  });
}

/**
 * A slow client: sends a request line, then one header line every `everyMs`, never ending the
 * headers. Resolves with how long the server kept it open (or `maxMs` when it never closed).
 */
export function trickleHeaders(port: number, everyMs: number, maxMs: number): Promise<{ openMs: number; status: number | null }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    let n = 0;
    let status: number | null = null;
    let ticker: NodeJS.Timeout | undefined;
    const stop = setTimeout(() => socket.destroy(), maxMs);
    socket.on('connect', () => {
      socket.write('GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      ticker = setInterval(() => socket.write(`X-Slow-${n++}: ${'y'.repeat(8)}\r\n`), everyMs);
    });
    socket.on('data', (d: Buffer) => {
      status ??= Number(/^HTTP\/1\.[01] (\d{3})/.exec(d.toString('latin1'))?.[1] ?? 0) || null;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(stop);
      clearInterval(ticker);
      resolve({ openMs: performance.now() - started, status });
    });
  });
}
