/** How a dead-lettered message is shown: the token's fields, or why its body is not a token. */
import { describe, expect, it } from 'vitest';
import { describeDeadLetter } from '#cli/dead-letters.ts';

describe('describeDeadLetter', () => {
  it('shows a token’s node, interval, index, target, receive count and first receive', () => {
    const body = JSON.stringify({ v: 2, stream: 'main', nodeId: 'n-a', interval: 12, from: 0, index: 2, count: 4, plannedAt: '2025-01-01T00:00:00.000Z', target: 80 });
    expect(describeDeadLetter({ MessageId: 'm', Body: body, Attributes: { ApproximateReceiveCount: '5', ApproximateFirstReceiveTimestamp: '1735689600000', SentTimestamp: '1735689599000' } })).toEqual({
      messageId: 'm',
      node: 'n-a',
      interval: 12,
      index: 2,
      count: 4,
      target: 80,
      receiveCount: 5,
      firstReceivedAt: '2025-01-01T00:00:00.000Z',
      sentAt: '2024-12-31T23:59:59.000Z',
    });
  });

  it('shows the parse error of a body that is not a token, and the node from its message group', () => {
    expect(describeDeadLetter({ MessageId: 'm', Body: '{"v":3}', Attributes: { MessageGroupId: 'n-b' } })).toMatchObject({
      node: 'n-b',
      parseError: expect.stringMatching(/^invalid microbatch: / ) as unknown,
    });
  });
});
