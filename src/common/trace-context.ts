import { randomFillSync } from 'node:crypto';

const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;
const POOL_BYTES = 4096;

/** The caller's W3C traceparent when it is well-formed; otherwise the start of a new trace. */
export function traceparentFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  if (value !== undefined && TRACEPARENT.test(value.trim())) return value.trim();

  return `00-${randomHex(16)}-${randomHex(8)}-01`;
}

/**
 * Random ids from a pool filled 4 KiB at a time: one randomBytes call per webhook cost more than the rest of the
 * id handling together. A value of all zeros, which W3C forbids, is drawn again.
 */
const pool = Buffer.alloc(POOL_BYTES);
let used = POOL_BYTES;

function randomHex(bytes: number): string {
  for (;;) {
    if (used + bytes > POOL_BYTES) {
      randomFillSync(pool);
      used = 0;
    }
    const id = pool.toString('hex', used, used + bytes);
    used += bytes;
    if (!/^0+$/.test(id)) return id;
  }
}
