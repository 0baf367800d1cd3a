import { isFatalProducerError } from './kafka-producer.service';

describe('isFatalProducerError', () => {
  it.each([
    ['a protocol error', { type: 'OUT_OF_ORDER_SEQUENCE_NUMBER' }],
    ['one wrapped as the cause', { name: 'KafkaJSNonRetriableError', cause: { type: 'UNKNOWN_PRODUCER_ID' } }],
    [
      'one inside an aggregate',
      { name: 'KafkaJSAggregateError', errors: [{ type: 'NOT_LEADER' }, { type: 'INVALID_PRODUCER_EPOCH' }] },
    ],
  ])('should recognise %s', (_label, error) => {
    expect(isFatalProducerError(error)).toBe(true);
  });

  it.each([
    ['a retriable broker error', { type: 'NOT_LEADER_FOR_PARTITION' }],
    ['a timeout', new Error('Request timed out')],
    ['nothing', undefined],
  ])('should leave %s to the ordinary retries', (_label, error) => {
    expect(isFatalProducerError(error)).toBe(false);
  });
});
