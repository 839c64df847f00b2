import type { Response } from 'express';

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
export const TEXT_CONTENT_TYPE = 'text/plain; charset=utf-8';

/**
 * Ends `res` with the whole of `body`, never to be cached, through Node's own response API, which
 * leaves the body out of an answer to HEAD (its Content-Length still tells the length). express's
 * res.type() and res.send() would look the content type up in mime-types, whose database then
 * takes most of a MiB of heap for the process's lifetime; every type here is written out in full.
 */
export function sendBody(res: Response, contentType: string, body: string): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}
