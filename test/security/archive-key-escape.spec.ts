import fc from 'fast-check';
import { archiveKey, ArchiveKeyParts } from '../../src/storage/archive-key';

/** Segments the key adds after the prefix: type=, report=, dt=, run=….csv (see archiveKey's contract). */
const KEY_SEGMENTS = 4;
const S3_KEY_MAX_BYTES = 1024;

/** Any UTF-16 code unit, lone surrogates included: JSON's `\ud800` escape puts exactly those into an id. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: codeUnit, maxLength: 300 }),
  fc.constantFrom('..', '.', '../..', '..\\..', '/', '\\', '%2e%2e', '%2F', 'a/../../b', '\u0000', '\u202e', '~', ''),
);
// Ill-formed text (lone surrogates) is refused before a key is built; see the last describe.
const id = hostileText.filter((value) => value !== '' && value.isWellFormed());

/** A small alphabet of characters the encoding treats specially, so that near-collisions come up often. */
const trickyUnit = fc.constantFrom('a', '_', '.', '-', '~', '%', '/', ' ', 'é', '\ufffd', '\ud800', '\udc00', '\udfff');
const trickyId = fc.string({ unit: trickyUnit, minLength: 1, maxLength: 8 }).filter((value) => value.isWellFormed());

/** Prefixes S3_PREFIX accepts (safe key characters), made of ordinary segments. */
const segment = fc.stringMatching(/^[A-Za-z0-9_()!*'=-][A-Za-z0-9._()!*'=-]{0,30}$/);
const prefix = fc.array(segment, { minLength: 0, maxLength: 6 }).map((segments) => segments.join('/'));

const createdAt = fc
  .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
  .map((date) => date.toISOString());

const parts: fc.Arbitrary<ArchiveKeyParts> = fc.record({
  reportType: fc.option(id, { nil: undefined }),
  reportId: id,
  runId: id,
  runCreatedAt: createdAt,
});

/** C0 and C1 control characters, DEL included. */
function isControl(character: string): boolean {
  const code = character.codePointAt(0) ?? 0;
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

function keyOf(reportId: string, runId: string): string {
  return archiveKey('connectly/reports', { reportType: 't', reportId, runId, runCreatedAt: '2025-04-30T12:00:00Z' });
}

function segmentsAfter(keyPrefix: string, key: string): string[] {
  return (keyPrefix === '' ? key : key.slice(keyPrefix.length + 1)).split('/');
}

describe('archiveKey', () => {
  describe('with arbitrary unicode ids and type', () => {
    it('should stay under the prefix in exactly four segments', () => {
      fc.assert(
        fc.property(prefix, parts, (keyPrefix, input) => {
          const key = archiveKey(keyPrefix, input);

          expect(keyPrefix === '' || key.startsWith(`${keyPrefix}/`)).toBe(true);
          const own = segmentsAfter(keyPrefix, key);
          expect(own).toHaveLength(KEY_SEGMENTS);
          expect(own[0]).toMatch(/^type=[A-Za-z0-9._%~-]+$/);
          expect(own[1]).toMatch(/^report=[A-Za-z0-9._%~-]+$/);
          expect(own[2]).toMatch(/^dt=\d{4}-\d{2}-\d{2}$/);
          expect(own[3]).toMatch(/^run=[A-Za-z0-9._%~-]+\.csv$/);
        }),
        { numRuns: 2000 },
      );
    });

    it('should hold no dot-dot segment, no backslash, no control character, and fit in 1024 bytes', () => {
      fc.assert(
        fc.property(prefix, parts, (keyPrefix, input) => {
          const key = archiveKey(keyPrefix, input);

          expect(key.split('/')).not.toContain('..');
          expect(key.split('/')).not.toContain('.');
          expect(key).not.toContain('\\');
          expect([...key].filter(isControl)).toEqual([]);
          expect(Buffer.byteLength(key, 'utf8')).toBeLessThanOrEqual(S3_KEY_MAX_BYTES);
        }),
        { numRuns: 2000 },
      );
    });

    it('should give distinct runs distinct keys over a sample of arbitrary ids', () => {
      fc.assert(
        fc.property(
          fc.uniqueArray(fc.tuple(id, id), { minLength: 2, maxLength: 60, selector: JSON.stringify }),
          (runs) => {
            const keys = runs.map(([reportId, runId]) => keyOf(reportId, runId));

            expect(new Set(keys).size).toBe(runs.length);
          },
        ),
        { numRuns: 500 },
      );
    });

    it('should give two different ids made of specially encoded characters different keys', () => {
      fc.assert(
        fc.property(trickyId, trickyId, (first, second) => {
          fc.pre(first !== second);

          expect(keyOf(first, 'run_1')).not.toBe(keyOf(second, 'run_1'));
          expect(keyOf('rep_A', first)).not.toBe(keyOf('rep_A', second));
        }),
        { numRuns: 2000 },
      );
    });
  });

  describe('with an empty report type', () => {
    it('should leave no segment with an empty value', () => {
      const key = archiveKey('p', {
        reportType: '',
        reportId: 'rep_A',
        runId: 'run_1',
        runCreatedAt: '2025-04-30T12:00:00Z',
      });

      expect(key.split('/')).not.toContain('type=');
    });
  });

  describe('with ids that hold an unpaired surrogate', () => {
    it.each([
      ['a lone high surrogate', 'rep_\ud800'],
      ['a lone low surrogate', 'rep_\udc00'],
      ['a long id ending in one', `${'é'.repeat(120)}\ud800`],
    ])('should refuse %s rather than merge it with U+FFFD', (_label, reportId) => {
      expect(() => keyOf(reportId, 'run_1')).toThrow(RangeError);
      expect(() => keyOf('rep_A', reportId)).toThrow(RangeError);
    });
  });
});
