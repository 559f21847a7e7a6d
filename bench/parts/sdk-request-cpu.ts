/**
 * What one SDK call costs in CPU on this machine, with nothing on the other end: the real clients as
 * shared/clients.ts builds them, over a request handler that answers at once with a canned
 * response. The planner's fleet-scale figures answer calls from memory at the command level, so
 * they leave out the SDK's own work per request (middleware, serialization, signing, parsing the
 * answer, SQS's MD5 checks); this is that work, to be multiplied by the calls a tick makes.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, createDynamoClient, createSqsClient } from '#shared/clients.ts';

/** A request handler that answers every request with `body` (HTTP 200) without any I/O. */
function instantHandler(body: string): never {
  const handler = {
    handle: () => Promise.resolve({ response: { statusCode: 200, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: Readable.from([Buffer.from(body)]) } }),
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
    destroy: () => undefined,
  };
  return handler as never;
}

const MESSAGE = JSON.stringify({ v: 2, stream: 'main', nodeId: 'node-000001', interval: 29_933_600, from: 1, target: 301, index: 0, count: 3, plannedAt: '2026-11-27T10:18:00.000Z' });

async function cpuPerCall(calls: number, call: () => Promise<unknown>): Promise<number> {
  for (let index = 0; index < Math.min(200, calls); index += 1) await call();
  const started = process.cpuUsage();
  for (let index = 0; index < calls; index += 1) await call();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / calls;
}

export interface SdkRequestCpu {
  /** µs of CPU for one conditional UpdateItem through the document client (a planner claim). */
  readonly conditionalUpdateUs: number;
  /** µs of CPU for one SendMessageBatch of 10 tokens. */
  readonly sendMessageBatchUs: number;
}

export async function measureSdkRequestCpu(calls = 2_000): Promise<SdkRequestCpu> {
  const md5 = createHash('md5').update(MESSAGE).digest('hex');
  // The clients exactly as the handlers build them; only the handler at the end of the pipeline differs.
  const client = createDynamoClient({ endpoint: 'http://127.0.0.1:1' });
  client.config.requestHandler = instantHandler('{}');
  const dynamo = createDocumentClient({ client });
  const sqs = createSqsClient({ endpoint: 'http://127.0.0.1:1' });
  sqs.config.requestHandler = instantHandler(JSON.stringify({ Successful: Array.from({ length: 10 }, (_, index) => ({ Id: String(index), MessageId: `m-${index}`, MD5OfMessageBody: md5 })) }));
  try {
    let claim = 0;
    const conditionalUpdateUs = await cpuPerCall(calls, () =>
      dynamo.send(
        new UpdateCommand({
          TableName: 'Nodes',
          Key: { nodeId: `node-${String((claim += 1)).padStart(6, '0')}` },
          UpdateExpression: 'SET #plannedSeq = :plannedSeq, #plannedAt = :plannedAt, #plannedInterval = :plannedInterval, #progressSeq = :progressSeq, #progressInterval = :progressInterval',
          ConditionExpression: '#plannedSeq = :expected AND (attribute_not_exists(#plannedInterval) OR #plannedInterval < :plannedInterval)',
          ExpressionAttributeNames: { '#plannedSeq': 'plannedSeq', '#plannedAt': 'plannedAt', '#plannedInterval': 'plannedInterval', '#progressSeq': 'progressSeq', '#progressInterval': 'progressInterval' },
          ExpressionAttributeValues: { ':plannedSeq': 301, ':plannedAt': '2026-11-27T10:18:00.000Z', ':plannedInterval': 29_933_600, ':progressSeq': 1, ':progressInterval': 29_933_600, ':expected': 1 },
        }),
      ),
    );
    const sendMessageBatchUs = await cpuPerCall(calls, () =>
      sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/microbatches.fifo',
          Entries: Array.from({ length: 10 }, (_, index) => ({ Id: String(index), MessageBody: MESSAGE, MessageGroupId: 'node-000001', MessageDeduplicationId: `node-000001:29933600:${index}:301` })),
        }),
      ),
    );
    return { conditionalUpdateUs: Math.round(conditionalUpdateUs), sendMessageBatchUs: Math.round(sendMessageBatchUs) };
  } finally {
    dynamo.destroy();
    sqs.destroy();
  }
}
