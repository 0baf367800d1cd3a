import { Message, TopicMessages } from 'kafkajs';
import { SendCoalescer } from './send-coalescer';

const message = (value: string): Message => ({ value });

function controlledWrites() {
  const requests: TopicMessages[][] = [];
  const finish: Array<(error?: Error) => void> = [];
  const write = (batch: TopicMessages[]): Promise<void> => {
    requests.push(batch);
    return new Promise<void>((resolve, reject) =>
      finish.push((error) => (error === undefined ? resolve() : reject(error))),
    );
  };
  return { requests, finish, write };
}

describe(SendCoalescer.name, () => {
  describe('enqueue', () => {
    it('should send the first message at once and the ones that arrive meanwhile together, grouped by topic', async () => {
      const { requests, finish, write } = controlledWrites();
      const coalescer = new SendCoalescer(write);

      const first = coalescer.enqueue('inbox', [message('1')]);
      const rest = [
        coalescer.enqueue('inbox', [message('2')]),
        coalescer.enqueue('ready', [message('3')]),
        coalescer.enqueue('inbox', [message('4')]),
      ];
      expect(requests).toHaveLength(1);

      finish[0]();
      await first;
      await new Promise(setImmediate);
      expect(requests[1]).toEqual([
        { topic: 'inbox', messages: [message('2'), message('4')] },
        { topic: 'ready', messages: [message('3')] },
      ]);

      finish[1]();
      await Promise.all(rest);
      await coalescer.idle();
    });

    it('should reject every send of a failed request, and carry on with the next', async () => {
      const { requests, finish, write } = controlledWrites();
      const coalescer = new SendCoalescer(write);

      const first = coalescer.enqueue('inbox', [message('1')]);
      const second = coalescer.enqueue('inbox', [message('2')]);
      finish[0](new Error('broker gone'));
      await expect(first).rejects.toThrow('broker gone');
      await new Promise(setImmediate);
      finish[1]();

      await expect(second).resolves.toBeUndefined();
      expect(requests).toHaveLength(2);
    });

    it('should cap a request at the message limit', async () => {
      const { requests, finish, write } = controlledWrites();
      const coalescer = new SendCoalescer(write, 2);

      const sends = ['1', '2', '3', '4'].map((value) => coalescer.enqueue('inbox', [message(value)]));
      for (let request = 0; request < 3; request += 1) {
        finish[request]();
        await new Promise(setImmediate);
      }
      await Promise.all(sends);

      expect(requests.map((batch) => batch[0].messages.length)).toEqual([1, 2, 1]);
    });
  });
});
