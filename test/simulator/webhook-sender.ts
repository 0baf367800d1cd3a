import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';

export interface WebhookResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface PostOptions {
  readonly headers?: OutgoingHttpHeaders;
  /** Extra CA to trust for an https target. */
  readonly ca?: Buffer;
  readonly timeoutMs?: number;
}

/** POSTs a webhook body as Connectly would, and reads the whole answer. */
export async function postWebhook(
  targetUrl: string,
  body: Buffer,
  options: PostOptions = {},
): Promise<WebhookResponse> {
  const url = new URL(targetUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`cannot POST to ${url.protocol} URLs`);

  const transport = url.protocol === 'https:' ? https : http;
  const headers = {
    'content-type': 'application/json',
    'content-length': body.length,
    'user-agent': 'connectly-simulator',
    ...options.headers,
  };

  return await new Promise((resolve, reject) => {
    const req = transport.request(url, { method: 'POST', headers, ca: options.ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });

    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error(`no answer from ${url.origin} in time`)));
    req.on('error', reject);
    req.end(body);
  });
}
