import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

export class BodyTooLargeError extends Error {}

export function s3ErrorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

export function sendXml(res: ServerResponse, status: number, xml: string): void {
  send(res, status, Buffer.from(xml), { 'content-type': 'application/xml' });
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: OutgoingHttpHeaders = {}): void {
  send(res, status, Buffer.from(JSON.stringify(value)), { 'content-type': 'application/json', ...headers });
}

export function sendJsonError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

export function send(res: ServerResponse, status: number, body: Buffer, headers: OutgoingHttpHeaders): void {
  res.writeHead(status, { 'content-length': body.length, ...headers });
  res.end(body);
}

export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;

  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw new BodyTooLargeError(`request body exceeds ${limitBytes} bytes`);
    chunks.push(chunk);
  }

  return Buffer.concat(chunks);
}
