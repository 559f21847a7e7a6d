/**
 * The SQS → Lambda event source mapping for the FIFO microbatch queue (and, one record a batch, for
 * the standard shard task queues), as Lambda runs it: receive up
 * to 10 messages, hand them to the function as one SQSEvent, delete the records that succeeded and
 * return the failed ones to the queue (they are received again, and dead-lettered by the queue's
 * redrive policy after maxReceiveCount receives). A function that throws — Powertools'
 * FullBatchFailureError or a crash — fails the whole batch.
 *
 * Faults it can inject: `duplicate` delivers a batch twice before acknowledging it, `reorder`
 * shuffles a batch's records, `crash` drops an invocation's result after its work is done (nothing
 * deleted, everything received again), as a function that died before reporting would, and `lose`
 * deletes a record without handing it to the function — a token gone for good, as one acknowledged
 * while its node was paused or dead-lettered.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { setTimeout as sleep } from 'node:timers/promises';
import { plural } from './counts.ts';
import { EmulatorResponseError } from './errors.ts';
import type { FaultSettings } from './faults.ts';
import { chance, shuffled, type Random } from './random.ts';
import type { LocalQueue } from './resources.ts';

/** Lambda's batch size limit for SQS FIFO sources, and SQS's per-receive limit. */
const BATCH_SIZE = 10;

/** The kinds of the fault catalogue the event source injects, each a probability per delivery (per record for `lose`). */
export type EventSourceFaults = Pick<FaultSettings, 'duplicate' | 'crash' | 'reorder' | 'lose'>;

export interface EventSourceOptions {
  readonly sqs: SQSClient;
  readonly queue: LocalQueue;
  readonly region: string;
  /** Invokes the function with one batch; resolves to its partial-batch response. */
  readonly invoke: (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;
  /** The faults in force now (a run can switch them off after a window). */
  readonly faults: () => EventSourceFaults;
  readonly random: Random;
  /** Batches in flight at once (Lambda's concurrency for the source); default 2. */
  readonly concurrency?: number;
  /** Records per batch: 10 (the FIFO limit) by default; the shard task sources take 1, as the stack's do. */
  readonly batchSize?: number;
  /** Called with an error an invocation threw that is not Powertools' "every record failed". */
  readonly onInvocationError?: (error: unknown) => void;
}

export interface DrainResult {
  readonly batches: number;
  readonly records: number;
  readonly deleted: number;
  /** Records returned to the queue to be received again. */
  readonly returned: number;
  readonly invocations: number;
  /** Invocations that threw (the whole batch failed). */
  readonly failedInvocations: number;
  readonly faults: Record<keyof EventSourceFaults, number>;
}

/** Whole-batch failure, or the message ids the function reported as failed. */
type Verdict = 'all' | ReadonlySet<string>;

export class FifoEventSource {
  private readonly concurrency: number;

  private readonly batchSize: number;

  constructor(private readonly options: EventSourceOptions) {
    this.concurrency = options.concurrency ?? 2;
    this.batchSize = options.batchSize ?? BATCH_SIZE;
  }

  /** Delivers batches until the queue holds nothing: none visible, in flight or delayed. */
  async drain(): Promise<DrainResult> {
    const result = { batches: 0, records: 0, deleted: 0, returned: 0, invocations: 0, failedInvocations: 0, faults: { duplicate: 0, crash: 0, reorder: 0, lose: 0 } };
    const poller = async (): Promise<void> => {
      for (;;) {
        const messages = await this.receive();
        if (messages.length > 0) {
          await this.deliver(messages, result);
          continue;
        }
        // Nothing visible: done once nothing is in flight elsewhere either (another poller's
        // failures come back to the queue when it acknowledges).
        if ((await this.depth()) === 0) return;
        await sleep(5);
      }
    };
    await Promise.all(Array.from({ length: this.concurrency }, poller));
    return result;
  }

  /** Messages in the queue: visible, in flight and delayed. */
  async depth(): Promise<number> {
    const { Attributes = {} } = await this.options.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.options.queue.url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    return (
      Number(Attributes.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
      Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0)
    );
  }

  private async receive(): Promise<Message[]> {
    const { Messages = [] } = await this.options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.options.queue.url,
        MaxNumberOfMessages: this.batchSize,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
        WaitTimeSeconds: 0,
      }),
    );
    return Messages;
  }

  private async deliver(messages: readonly Message[], result: { -readonly [K in keyof DrainResult]: DrainResult[K] }): Promise<void> {
    const { random } = this.options;
    const faults = this.options.faults();
    const all = messages.map((message) => this.toRecord(message));
    result.batches += 1;
    result.records += all.length;
    const lost = all.filter(() => chance(random, faults.lose));
    const received = all.filter((record) => !lost.includes(record));
    if (lost.length > 0) {
      result.faults.lose += lost.length;
      await this.delete(lost);
      result.deleted += lost.length;
      if (received.length === 0) return;
    }

    let records = received;
    if (received.length > 1 && chance(random, faults.reorder)) {
      records = shuffled(received, random);
      if (records.some((record, index) => record !== received[index])) result.faults.reorder += 1;
    }
    const event: SQSEvent = { Records: records };

    let verdict = await this.invoke(event, result);
    if (chance(random, faults.duplicate)) {
      // At-least-once delivery: the same messages reach the function again before any is deleted.
      result.faults.duplicate += 1;
      verdict = merge(verdict, await this.invoke(event, result));
    }
    if (chance(random, faults.crash)) {
      // The work is done but the result is lost: the source acknowledges nothing.
      result.faults.crash += 1;
      verdict = 'all';
    }

    const failed = received.filter((record) => verdict === 'all' || verdict.has(record.messageId));
    const succeeded = received.filter((record) => !failed.includes(record));
    await Promise.all([this.delete(succeeded), this.returnToQueue(failed)]);
    result.deleted += succeeded.length;
    result.returned += failed.length;
  }

  private async invoke(event: SQSEvent, result: { invocations: number; failedInvocations: number }): Promise<Verdict> {
    result.invocations += 1;
    try {
      const response = await this.options.invoke(event);
      const failures = response?.batchItemFailures ?? [];
      const ids = new Set(event.Records.map((record) => record.messageId));
      // Lambda fails the whole batch when a reported identifier is empty or not in the batch.
      if (failures.some((failure) => !ids.has(failure.itemIdentifier))) return 'all';
      return new Set(failures.map((failure) => failure.itemIdentifier));
    } catch (error) {
      result.failedInvocations += 1;
      if (!(error instanceof Error && error.name === 'FullBatchFailureError')) this.options.onInvocationError?.(error);
      return 'all';
    }
  }

  private async delete(records: readonly SQSRecord[]): Promise<void> {
    if (records.length === 0) return;
    const { Failed = [] } = await this.options.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: this.options.queue.url,
        Entries: records.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
      }),
    );
    if (Failed.length > 0) throw new EmulatorResponseError('DeleteMessageBatch', `failed for ${plural(Failed.length, 'record')}: ${Failed[0]?.Message ?? Failed[0]?.Code ?? ''}`);
  }

  /** Visible again at once: the local clock does not wait out the visibility timeout. */
  private async returnToQueue(records: readonly SQSRecord[]): Promise<void> {
    if (records.length === 0) return;
    const { Failed = [] } = await this.options.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: this.options.queue.url,
        Entries: records.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle, VisibilityTimeout: 0 })),
      }),
    );
    if (Failed.length > 0) throw new EmulatorResponseError('ChangeMessageVisibilityBatch', `failed for ${plural(Failed.length, 'record')}: ${Failed[0]?.Message ?? Failed[0]?.Code ?? ''}`);
  }

  /** An SQS message as Lambda's event source puts it in an SQSEvent. */
  private toRecord(message: Message): SQSRecord {
    const system = message.Attributes ?? {};
    const required = (value: string | undefined, name: string): string => {
      if (value === undefined) throw new EmulatorResponseError('ReceiveMessage', `returned a message without ${name}`);
      return value;
    };
    return {
      messageId: required(message.MessageId, 'MessageId'),
      receiptHandle: required(message.ReceiptHandle, 'ReceiptHandle'),
      body: message.Body ?? '',
      attributes: {
        ApproximateReceiveCount: system.ApproximateReceiveCount ?? '1',
        SentTimestamp: system.SentTimestamp ?? String(Date.now()),
        SenderId: system.SenderId ?? '000000000000',
        ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        ...(system.SequenceNumber === undefined ? {} : { SequenceNumber: system.SequenceNumber }),
        ...(system.MessageGroupId === undefined ? {} : { MessageGroupId: system.MessageGroupId }),
        ...(system.MessageDeduplicationId === undefined ? {} : { MessageDeduplicationId: system.MessageDeduplicationId }),
      },
      messageAttributes: toLambdaAttributes(message.MessageAttributes ?? {}),
      md5OfBody: message.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: this.options.queue.arn,
      awsRegion: this.options.region,
    };
  }
}

/** A record is acknowledged only when every delivery of it succeeded. */
function merge(first: Verdict, second: Verdict): Verdict {
  if (first === 'all' || second === 'all') return 'all';
  return new Set([...first, ...second]);
}

function toLambdaAttributes(attributes: Record<string, MessageAttributeValue>): SQSMessageAttributes {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [
      name,
      {
        dataType: value.DataType ?? 'String',
        ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
        ...(value.BinaryValue === undefined ? {} : { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
        stringListValues: value.StringListValues ?? [],
        binaryListValues: (value.BinaryListValues ?? []).map((binary) => Buffer.from(binary).toString('base64')),
      },
    ]),
  );
}
