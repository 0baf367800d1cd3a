/** Keeps a signed URL's origin and path for logs and events; the query string is the credential. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    const query = url.search === '' ? '' : '?[redacted]';
    return `${url.protocol}//${url.host}${url.pathname}${query}`;
  } catch {
    return '[unparseable url]';
  }
}

export function urlHost(raw: string): string {
  try {
    return new URL(raw).host;
  } catch {
    return '';
  }
}
