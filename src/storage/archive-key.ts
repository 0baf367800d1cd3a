import { createHash } from 'node:crypto';

const SAFE_CHARACTER = /[A-Za-z0-9._-]/;
const MAX_PART_LENGTH = 180;

export interface ArchiveKeyParts {
  reportType?: string;
  reportId: string;
  runId: string;
  runCreatedAt: string;
}

/**
 * The archive key of a run: `{prefix}/type={type}/report={reportId}/dt={YYYY-MM-DD}/run={runId}.csv`.
 * Every id is encoded so that it stays one path segment: no slash, no `=`, nothing outside [A-Za-z0-9._-].
 */
export function archiveKey(prefix: string, parts: ArchiveKeyParts): string {
  const segments = [
    `type=${keyPart(parts.reportType === undefined || parts.reportType === '' ? 'unknown' : parts.reportType)}`,
    `report=${keyPart(parts.reportId)}`,
    `dt=${utcDate(parts.runCreatedAt)}`,
    `run=${keyPart(parts.runId)}.csv`,
  ];

  return prefix === '' ? segments.join('/') : `${prefix}/${segments.join('/')}`;
}

/** Percent-encodes every byte outside the safe set; long parts keep a readable head and a hash of the whole. */
export function keyPart(value: string): string {
  if (!value.isWellFormed()) throw new RangeError('A key part must be well-formed Unicode text');
  const encoded = [...value].map(encodeCharacter).join('');
  if (encoded.length <= MAX_PART_LENGTH) return encoded;

  const digest = createHash('sha256').update(value).digest('hex').slice(0, 16);
  return `${encoded.slice(0, MAX_PART_LENGTH - 17).replace(/%[0-9A-F]?$/, '')}~${digest}`;
}

function encodeCharacter(character: string): string {
  if (SAFE_CHARACTER.test(character)) return character;

  return [...Buffer.from(character, 'utf8')]
    .map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
    .join('');
}

function utcDate(isoTimestamp: string): string {
  const date = new Date(isoTimestamp);
  if (Number.isNaN(date.getTime())) throw new RangeError(`Not a date-time: ${isoTimestamp}`);

  return date.toISOString().slice(0, 10);
}
