import type { SendMessageBatchCommandInput, SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { SqsTaskQueue } from '#shared/adapters/sqs/task-queue.ts';
import { parseTask, type CheckTask, type PlanTask } from '#shared/domain/shard-task.ts';
import { noSleep } from './support.ts';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/plan-tasks';
const sqsMock = mockClient(SQSClient);

/** The `count` shard tasks of one interval's plan, cut over twice as many segments. */
function planTasks(count: number): PlanTask[] {
  return Array.from({ length: count }, (_, shard) => ({
    v: 1,
    kind: 'plan',
    stream: 'main',
    interval: 29447718,
    shard,
    shards: count,
    segments: count * 2,
    plannedAt: '2026-11-27T10:18:00.000Z',
    head: 1300,
    previousSegments: count,
  }));
}

const checkTask: CheckTask = {
  v: 1,
  kind: 'check',
  stream: 'main',
  interval: 29447720,
  shard: 0,
  shards: 1,
  segments: 1,
  checkedAt: '2026-11-27T10:20:00.000Z',
  heads: [1400, 1300],
  averageIngestPerInterval: 80.5,
};

function entriesOfCall(index: number): SendMessageBatchRequestEntry[] {
  return (sqsMock.commandCalls(SendMessageBatchCommand)[index]?.args[0].input as SendMessageBatchCommandInput).Entries ?? [];
}

/** Every entry sent, over all calls. */
function allEntries(): SendMessageBatchRequestEntry[] {
  return sqsMock.commandCalls(SendMessageBatchCommand).flatMap((call) => call.args[0].input.Entries ?? []);
}

describe('SqsTaskQueue', () => {
  const client = new SQSClient({});
  let queue: SqsTaskQueue<PlanTask>;

  beforeEach(() => {
    sqsMock.reset();
    queue = new SqsTaskQueue<PlanTask>(client, QUEUE_URL, { sleep: noSleep });
  });

  it('sends each task as its JSON body alone — no group id, no deduplication id: the queue is standard', async () => {
    // Prepare
    const tasks = planTasks(3);
    sqsMock.on(SendMessageBatchCommand).resolves({});

    // Act
    await queue.send(tasks);

    // Assess
    expect(sqsMock).toHaveReceivedCommandExactlyOnceWith(SendMessageBatchCommand, {
      QueueUrl: QUEUE_URL,
      Entries: tasks.map((task, index) => ({ Id: String(index), MessageBody: JSON.stringify(task) })),
    });
  });

  it('sends bodies a shard function parses back into the same tasks, of either kind', async () => {
    // Prepare
    const checks = new SqsTaskQueue<CheckTask>(client, QUEUE_URL, { sleep: noSleep });
    sqsMock.on(SendMessageBatchCommand).resolves({});

    // Act
    await queue.send(planTasks(2));
    await checks.send([checkTask]);

    // Assess
    expect(allEntries().map((entry) => parseTask(entry.MessageBody ?? ''))).toEqual([...planTasks(2), checkTask]);
  });

  it('sends 25 tasks in 3 calls of at most 10 and returns none when SQS took them all', async () => {
    // Prepare
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });

    // Act
    const refused = await queue.send(planTasks(25));

    // Assess
    expect(refused).toEqual([]);
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 3);
    expect([0, 1, 2].map((call) => entriesOfCall(call).length)).toEqual([10, 10, 5]);
    expect(allEntries().map((entry) => (JSON.parse(entry.MessageBody ?? '') as PlanTask).shard).sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, shard) => shard));
  });

  it('makes a received task visible again in the seconds asked, on its own queue', async () => {
    // Prepare
    sqsMock.on(ChangeMessageVisibilityCommand).resolves({});

    // Act
    await queue.retryIn('AQEBreceipt', 10);

    // Assess
    expect(sqsMock).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, { QueueUrl: QUEUE_URL, ReceiptHandle: 'AQEBreceipt', VisibilityTimeout: 10 });
  });

  it('makes no call for no tasks', async () => {
    // Act & Assess
    await expect(queue.send([])).resolves.toEqual([]);
    expect(sqsMock).not.toHaveReceivedAnyCommand();
  });

  it('retries only the entries a response lists as failed, with ids renumbered', async () => {
    // Prepare
    const tasks = planTasks(10);
    const sleep = vi.fn<(ms: number) => Promise<void>>(noSleep);
    queue = new SqsTaskQueue<PlanTask>(client, QUEUE_URL, { sleep });
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Failed: [
          { Id: '4', Code: 'InternalError', SenderFault: false },
          { Id: '8', Code: 'ServiceUnavailable', SenderFault: false },
        ],
      })
      .resolves({});

    // Act
    const refused = await queue.send(tasks);

    // Assess
    expect(refused).toEqual([]);
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 2);
    expect(entriesOfCall(1)).toEqual([
      { Id: '0', MessageBody: JSON.stringify(tasks[4]) },
      { Id: '1', MessageBody: JSON.stringify(tasks[8]) },
    ]);
    expect(sleep).toHaveBeenCalledTimes(1);
  });

  it('returns the tasks SQS still refused after maxAttempts, and only those', async () => {
    // Prepare
    const tasks = planTasks(12);
    queue = new SqsTaskQueue<PlanTask>(client, QUEUE_URL, { sleep: noSleep, maxAttempts: 3 });
    const doomed = new Set([JSON.stringify(tasks[1]), JSON.stringify(tasks[11])]);
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Failed: (input.Entries ?? []).filter((entry) => doomed.has(entry.MessageBody ?? '')).map((entry) => ({ Id: entry.Id, Code: 'InternalError', SenderFault: false })),
    }));

    // Act
    const refused = await queue.send(tasks);

    // Assess
    expect(refused).toEqual([tasks[1], tasks[11]]);
    expect(allEntries().filter((entry) => doomed.has(entry.MessageBody ?? ''))).toHaveLength(2 * 3);
    expect(allEntries()).toHaveLength(12 + 2 * 2);
  });

  it('returns a task SQS rejects as the sender’s fault without retrying it', async () => {
    // Prepare
    const tasks = planTasks(2);
    sqsMock.on(SendMessageBatchCommand).resolves({ Failed: [{ Id: '1', Code: 'InvalidParameterValue', SenderFault: true }] });

    // Act
    const refused = await queue.send(tasks);

    // Assess
    expect(refused).toEqual([tasks[1]]);
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
  });

  it('retries a call that throws as a whole, and returns its tasks when it keeps throwing', async () => {
    // Prepare
    const tasks = planTasks(3);
    queue = new SqsTaskQueue<PlanTask>(client, QUEUE_URL, { sleep: noSleep, maxAttempts: 2 });
    sqsMock.on(SendMessageBatchCommand).rejects(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));

    // Act
    const refused = await queue.send(tasks);

    // Assess
    expect(refused).toEqual(tasks);
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 2);
    expect(entriesOfCall(1)).toEqual(entriesOfCall(0));
  });
});
