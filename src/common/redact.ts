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

/** Replaces every occurrence of a secret in a text (any letter case, raw or percent-encoded) with [redacted]. */
export function withoutSecret(text: string, secret: string | undefined): string {
  if (secret === undefined || secret === '') return text;

  const escape = (value: string): string => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const forms = [...new Set([secret, encodeURIComponent(secret)])].map(escape).join('|');
  return text.replace(new RegExp(forms, 'gi'), '[redacted]');
}
