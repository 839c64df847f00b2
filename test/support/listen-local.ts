import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Starts `handler` on 127.0.0.1 on a free port (never every interface, as app.listen(0) would). */
export async function listenLocal(
  handler: http.RequestListener,
): Promise<{ server: http.Server; url: string; port: number; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
