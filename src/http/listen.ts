import http from 'node:http';
import type { RequestListener, Server } from 'node:http';

/** Bounds on how long a client may take, so slow or idle connections cannot pile up. */
const HEADERS_TIMEOUT_MS = 5000;
const REQUEST_TIMEOUT_MS = 10_000;
const KEEP_ALIVE_TIMEOUT_MS = 5000;
/**
 * How often Node looks for requests past those timeouts. Its default, 30 s, let a client that
 * trickles its headers hold a connection for 35 s instead of 5.
 */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/**
 * Listens on `host`, or when it is null on every address: `::` (which also takes IPv4 on a
 * dual-stack host), falling back to 0.0.0.0 where the pod has no IPv6.
 */
export async function listen(
  handler: RequestListener,
  host: string | null,
  port: number,
): Promise<{ server: Server; host: string; port: number }> {
  if (host !== null) return listenOn(handler, host, port);
  try {
    return await listenOn(handler, '::', port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw err;
    return listenOn(handler, '0.0.0.0', port);
  }
}

function listenOn(handler: RequestListener, host: string, port: number): Promise<{ server: Server; host: string; port: number }> {
  const server = http.createServer(
    { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
    handler,
  );
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      const addr = server.address();
      const bound = typeof addr === 'object' && addr !== null ? addr.port : port;
      resolve({ server, host, port: bound });
    });
  });
}
