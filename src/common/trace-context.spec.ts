import { traceparentFrom } from './trace-context';

const NEW_TRACE = /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/;

describe('traceparentFrom', () => {
  it('should keep a well-formed traceparent from the caller', () => {
    const given = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

    expect(traceparentFrom(given)).toBe(given);
    expect(traceparentFrom([` ${given} `, 'ignored'])).toBe(given);
  });

  it.each([
    ['missing', undefined],
    ['all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['all-zero parent id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['upper case', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01'],
    ['garbage', 'not-a-traceparent'],
  ])('should start a new trace when the header is %s', (_label, header) => {
    expect(traceparentFrom(header)).toMatch(NEW_TRACE);
  });

  it('should draw distinct, non-zero ids across many refills of the pool', () => {
    const ids = Array.from({ length: 5000 }, () => traceparentFrom(undefined));

    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      const [, trace, parent] = id.split('-');
      expect(trace).not.toMatch(/^0+$/);
      expect(parent).not.toMatch(/^0+$/);
    }
  });
});
