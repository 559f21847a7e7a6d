import type { SendMessageBatchCommandInput, SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SqsMicrobatchQueue } from '#shared/adapters/sqs/microbatch-queue.ts';
import { deduplicationId, parseMicrobatch } from '#shared/domain/microbatch.ts';
import type { Microbatch } from '#shared/domain/types.ts';
import { inFlightCounter, noSleep } from './support.ts';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/microbatches.fifo';
const sqsMock = mockClient(SQSClient);

/** `count` tokens spread over four nodes, each node's plan targeting 100 per token it was given. */
function microbatches(count: number): Microbatch[] {
  const perNode = Math.ceil(count / 4);
  return Array.from({ length: count }, (_, i) => ({
    v: 2,
    stream: 'main',
    nodeId: `n-${i % 4}`,
    interval: 29447718,
    from: 0,
    target: perNode * 100,
    index: Math.floor(i / 4),
    count: perNode,
    plannedAt: '2026-11-27T10:18:00Z',
  }));
}

function entriesOfCall(index: number): SendMessageBatchRequestEntry[] {
  return (sqsMock.commandCalls(SendMessageBatchCommand)[index]?.args[0].input as SendMessageBatchCommandInput).Entries ?? [];
}

function dedupIdsOfCall(index: number): (string | undefined)[] {
  return entriesOfCall(index).map((entry) => entry.MessageDeduplicationId);
}

describe('SqsMicrobatchQueue', () => {
  let queue: SqsMicrobatchQueue;
  const client = new SQSClient({});

  beforeEach(() => {
    sqsMock.reset();
    queue = new SqsMicrobatchQueue(client, QUEUE_URL, { sleep: noSleep });
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('sends 25 microbatches in order in exactly 3 calls with their group and deduplication ids', async () => {
    // Prepare
    const batch = microbatches(25);
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });

    // Act
    await queue.send(batch);

    // Assess
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 3);
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: QUEUE_URL });
    const sent = [0, 1, 2].map(entriesOfCall);
    expect(sent.map((entries) => entries.length)).toEqual([10, 10, 5]);
    expect(sent.map((entries) => entries.map((entry) => entry.Id))).toEqual([
      ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      ['0', '1', '2', '3', '4'],
    ]);
    expect(sent.flat().map((entry) => [entry.MessageGroupId, entry.MessageDeduplicationId])).toEqual(
      batch.map((m) => [m.nodeId, `${m.nodeId}:${m.interval}:${m.index}:${m.target}`]),
    );
  });

  it('sends every call in parallel, a node’s tokens spanning two calls included: tokens of a plan apply in any order', async () => {
    // Prepare: node a has 15 tokens (calls 1 and 2), node b 5 and node c 10.
    const planned = (nodeId: string, count: number): Microbatch[] =>
      Array.from({ length: count }, (_, index) => ({ v: 2, stream: 'main', nodeId, interval: 7, from: 0, target: count * 10, index, count, plannedAt: '2026-11-27T10:18:00Z' }));
    const batch = [...planned('a', 15), ...planned('b', 5), ...planned('c', 10)];
    const counter = inFlightCounter();
    sqsMock.on(SendMessageBatchCommand).callsFake(() => counter.track(() => ({}), 20));

    // Act
    await queue.send(batch);

    // Assess
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 3);
    expect(counter.max).toBe(3);
  });

  it('sends bodies that parse back into the same microbatches', async () => {
    // Prepare
    const batch = microbatches(3);
    sqsMock.on(SendMessageBatchCommand).resolves({});

    // Act
    await queue.send(batch);

    // Assess
    expect(entriesOfCall(0).map((entry) => parseMicrobatch(entry.MessageBody ?? ''))).toEqual(batch);
  });

  it('makes no call for no microbatches', async () => {
    // Act
    await queue.send([]);

    // Assess
    expect(sqsMock).not.toHaveReceivedAnyCommand();
  });

  it('retries only the entries a response lists as failed, with ids renumbered', async () => {
    // Prepare
    const batch = microbatches(10);
    const sleep = vi.fn<(ms: number) => Promise<void>>(noSleep);
    queue = new SqsMicrobatchQueue(client, QUEUE_URL, { sleep });
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: [],
        Failed: [
          { Id: '3', Code: 'InternalError', SenderFault: false },
          { Id: '7', Code: 'ServiceUnavailable', SenderFault: false },
        ],
      })
      .resolves({});

    // Act
    const unsent = await queue.send(batch);

    // Assess
    expect(unsent).toEqual([]);
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 2);
    expect(entriesOfCall(1)).toEqual([
      { Id: '0', MessageBody: JSON.stringify(batch[3]), MessageGroupId: batch[3]?.nodeId, MessageDeduplicationId: dedupIdsOfCall(0)[3] },
      { Id: '1', MessageBody: JSON.stringify(batch[7]), MessageGroupId: batch[7]?.nodeId, MessageDeduplicationId: dedupIdsOfCall(0)[7] },
    ]);
    expect(sleep).toHaveBeenCalledTimes(1);
  });

  it('returns the tokens still refused after maxAttempts, with the last reason of each', async () => {
    // Prepare
    const batch = microbatches(12);
    queue = new SqsMicrobatchQueue(client, QUEUE_URL, { sleep: noSleep, maxAttempts: 3 });
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Failed: (input.Entries ?? [])
        .filter((entry) => entry.MessageDeduplicationId === deduplicationId(batch[1] as Microbatch) || entry.MessageDeduplicationId === deduplicationId(batch[11] as Microbatch))
        .map((entry) => ({ Id: entry.Id, Code: 'InternalError', Message: 'try again', SenderFault: false })),
    }));

    // Act
    const unsent = await queue.send(batch);

    // Assess
    const failedIds = [deduplicationId(batch[1] as Microbatch), deduplicationId(batch[11] as Microbatch)];
    expect(unsent).toEqual([batch[1], batch[11]].map((microbatch) => ({ microbatch, code: 'InternalError', message: 'try again', senderFault: false })));
    const sends = sqsMock.commandCalls(SendMessageBatchCommand).flatMap((call) => call.args[0].input.Entries ?? []);
    expect(sends.filter((entry) => entry.MessageDeduplicationId === failedIds[0])).toHaveLength(3);
    expect(sends.filter((entry) => entry.MessageDeduplicationId === failedIds[1])).toHaveLength(3);
    expect(sends).toHaveLength(12 + 2 * 2);
  });

  it('does not retry an entry SQS rejects as the sender’s fault', async () => {
    // Prepare
    const batch = microbatches(2);
    sqsMock.on(SendMessageBatchCommand).resolves({ Failed: [{ Id: '1', Code: 'InvalidParameterValue', SenderFault: true }] });

    // Act
    const unsent = await queue.send(batch);

    // Assess
    expect(unsent).toEqual([{ microbatch: batch[1], code: 'InvalidParameterValue', senderFault: true }]);
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
  });

  it('retries a call that throws as a whole', async () => {
    // Prepare
    const batch = microbatches(4);
    sqsMock.on(SendMessageBatchCommand).rejectsOnce(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' })).resolves({});

    // Act
    const unsent = await queue.send(batch);

    // Assess
    expect(unsent).toEqual([]);
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 2);
    expect(dedupIdsOfCall(1)).toEqual(dedupIdsOfCall(0));
  });

  it('names the error of a call that keeps throwing', async () => {
    // Prepare
    queue = new SqsMicrobatchQueue(client, QUEUE_URL, { sleep: noSleep, maxAttempts: 2 });
    sqsMock.on(SendMessageBatchCommand).rejects(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));

    // Act
    const unsent = await queue.send(microbatches(3));

    // Assess
    expect(unsent.map(({ code, message }) => ({ code, message }))).toEqual(Array.from({ length: 3 }, () => ({ code: 'TimeoutError', message: 'socket hang up' })));
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 2);
  });

  it('still sends the other chunks when one keeps failing', async () => {
    // Prepare
    const batch = microbatches(30);
    queue = new SqsMicrobatchQueue(client, QUEUE_URL, { sleep: noSleep, maxAttempts: 2 });
    const doomed = deduplicationId(batch[0] as Microbatch);
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      if (input.Entries?.some((entry) => entry.MessageDeduplicationId === doomed)) throw new Error('broken');
      return {};
    });

    // Act
    const unsent = await queue.send(batch);

    // Assess
    expect(unsent.map(({ microbatch }) => microbatch)).toEqual(batch.slice(0, 10));
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 4);
  });

  it('waits between attempts with exponential backoff and full jitter', async () => {
    // Prepare
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const sleep = vi.fn<(ms: number) => Promise<void>>(noSleep);
    queue = new SqsMicrobatchQueue(client, QUEUE_URL, { sleep, maxAttempts: 4 });
    sqsMock.on(SendMessageBatchCommand).resolves({ Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false }] });

    // Act
    await expect(queue.send(microbatches(1))).resolves.toHaveLength(1);

    // Assess
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([50, 100, 200]);
  });

  it('never has more calls in flight than the concurrency bound', async () => {
    // Prepare
    queue = new SqsMicrobatchQueue(client, QUEUE_URL, { sleep: noSleep, concurrency: 2 });
    const counter = inFlightCounter();
    sqsMock.on(SendMessageBatchCommand).callsFake(() => counter.track(() => ({})));

    // Act
    await queue.send(microbatches(55));

    // Assess
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 6);
    expect(counter.max).toBe(2);
  });

  it('refuses options below 1', () => {
    // Act & Assess
    expect(() => new SqsMicrobatchQueue(client, QUEUE_URL, { concurrency: 0 })).toThrow(RangeError);
    expect(() => new SqsMicrobatchQueue(client, QUEUE_URL, { maxAttempts: 0 })).toThrow(RangeError);
  });
});
