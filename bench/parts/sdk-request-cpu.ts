/**
 * What one SDK call costs in CPU on this machine, call by call: the real clients as shared/clients.ts
 * builds them (a Lambda client with the same retry settings), answered at once by the fake AWS
 * endpoint, its own CPU left out (fake-aws/endpoint.ts). Two uses:
 *
 *   - the old design's price: a conditional claim (UpdateItem) per planned node, beside the
 *     SendMessageBatch of 10 tokens both designs make;
 *   - the coordinators' fan-out: one SendMessageBatch of 10 shard tasks on the task queue against
 *     one asynchronous Lambda Invoke (InvocationType Event) per shard.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { MAX_ATTEMPTS } from '#shared/clients.ts';
import { deduplicationId, serializeMicrobatch } from '#shared/domain/microbatch.ts';
import { serializeTask, type PlanTask } from '#shared/domain/shard-task.ts';
import type { Microbatch } from '#shared/domain/types.ts';
import { FakeAws, fakeClients } from '../fake-aws/endpoint.ts';
import { QUEUE, TABLE } from './fleet.ts';

const WARM_UP = 200;

async function cpuPerCall(fake: FakeAws, calls: number, call: (index: number) => Promise<unknown>): Promise<number> {
  for (let index = 0; index < WARM_UP; index += 1) await call(index);
  const started = fake.clientCpuUs();
  for (let index = 0; index < calls; index += 1) await call(index);
  return Math.round((fake.clientCpuUs() - started) / calls);
}

export interface SdkRequestCpu {
  readonly calls: number;
  /** µs of CPU for one conditional UpdateItem through the document client: the old design's claim of one node. */
  readonly conditionalUpdateUs: number;
  /** µs of CPU for one SendMessageBatch of 10 tokens on the FIFO microbatch queue. */
  readonly sendMessageBatchUs: number;
  /** µs of CPU for one SendMessageBatch of 10 plan tasks on the (standard) task queue. */
  readonly taskBatchUs: number;
  /** µs of CPU for one asynchronous Lambda Invoke carrying one plan task. */
  readonly lambdaInvokeUs: number;
}

/** A plan task as the coordinator sends it, for shard `shard` of 20. */
function sampleTask(shard: number): PlanTask {
  return {
    v: 1,
    kind: 'plan',
    stream: 'main',
    interval: 29_933_600,
    plannedAt: '2026-11-30T05:20:00.000Z',
    head: 10_000_000,
    shards: 20,
    segments: 512,
    previousSegments: 512,
    shard,
  };
}

export async function measureSdkRequestCpu(calls = 2_000): Promise<SdkRequestCpu> {
  const fake = new FakeAws();
  fake.dynamodb.createTable(TABLE.nodes, { partition: 'nodeId' });
  fake.sqs.createQueue(QUEUE.microbatch);
  fake.sqs.createQueue(QUEUE.planTasks);
  const clients = fakeClients(fake);
  const lambda = fake.attach(new LambdaClient({ retryMode: 'standard', maxAttempts: MAX_ATTEMPTS }));
  try {
    const conditionalUpdateUs = await cpuPerCall(fake, calls, (index) =>
      clients.doc.send(
        new UpdateCommand({
          TableName: TABLE.nodes,
          Key: { nodeId: `node-${String(index).padStart(6, '0')}` },
          UpdateExpression: 'SET #plannedSeq = :plannedSeq, #plannedAt = :plannedAt, #plannedInterval = :plannedInterval, #progressSeq = :progressSeq, #progressInterval = :progressInterval',
          ConditionExpression: '#plannedSeq = :expected AND (attribute_not_exists(#plannedInterval) OR #plannedInterval < :plannedInterval)',
          ExpressionAttributeNames: { '#plannedSeq': 'plannedSeq', '#plannedAt': 'plannedAt', '#plannedInterval': 'plannedInterval', '#progressSeq': 'progressSeq', '#progressInterval': 'progressInterval' },
          ExpressionAttributeValues: { ':plannedSeq': 301, ':plannedAt': '2026-11-27T10:18:00.000Z', ':plannedInterval': 29_933_600, ':progressSeq': 1, ':progressInterval': 29_933_600, ':expected': 1 },
        }),
      ),
    );
    const token = (index: number, entry: number): Microbatch => ({
      v: 2,
      stream: 'main',
      nodeId: `node-${String(index * 10 + entry).padStart(6, '0')}`,
      interval: 29_933_600,
      from: 9_999_950,
      target: 10_000_000,
      index: 0,
      count: 1,
      plannedAt: '2026-11-30T05:20:00.000Z',
    });
    const sendMessageBatchUs = await cpuPerCall(fake, calls, (index) =>
      clients.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: QUEUE.microbatch,
          Entries: Array.from({ length: 10 }, (_, entry) => {
            const microbatch = token(index, entry);
            return { Id: String(entry), MessageBody: serializeMicrobatch(microbatch), MessageGroupId: microbatch.nodeId, MessageDeduplicationId: deduplicationId(microbatch) };
          }),
        }),
      ),
    );
    const taskBatchUs = await cpuPerCall(fake, calls, () =>
      clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: QUEUE.planTasks, Entries: Array.from({ length: 10 }, (_, shard) => ({ Id: String(shard), MessageBody: serializeTask(sampleTask(shard)) })) })),
    );
    const lambdaInvokeUs = await cpuPerCall(fake, calls, (index) =>
      lambda.send(new InvokeCommand({ FunctionName: 'bench-PlannerShard', InvocationType: 'Event', Payload: Buffer.from(serializeTask(sampleTask(index % 20))) })),
    );
    return { calls, conditionalUpdateUs, sendMessageBatchUs, taskBatchUs, lambdaInvokeUs };
  } finally {
    clients.destroy();
    lambda.destroy();
  }
}
