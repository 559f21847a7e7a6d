/**
 * The Log and IngestRequests tables behind a mocked document client, keeping DynamoDB's contract
 * for the calls ingest makes: a consistent GetItem of the head, TransactWriteItems that commits
 * whole or is cancelled whole (one reason per item, `ConditionalCheckFailed` where a condition
 * failed) or refused over DynamoDB's limits, and a Query of a request's markers. Handler and use
 * case tests drive the real adapter against it and read what landed.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClientResolvedConfig, QueryCommandInput, ServiceInputTypes, ServiceOutputTypes, TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { AwsStub } from 'aws-sdk-client-mock';

type Item = Record<string, unknown>;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
type DocumentStub = AwsStub<ServiceInputTypes, ServiceOutputTypes, DynamoDBDocumentClientResolvedConfig>;

/** DynamoDB's limits on one TransactWriteItems: 100 actions, 4 MiB of items (binary units). */
export const MAX_ACTIONS = 100;
export const MAX_TRANSACTION_BYTES = 4 * 1024 * 1024;

/**
 * An item's size by AWS's rule, written here independently of the code under test: attribute
 * names plus values, strings in UTF-8, numbers one byte per two digits plus one.
 */
export function dynamoItemBytes(item: Readonly<Item>): number {
  return Object.entries(item).reduce((sum, [name, value]) => {
    const bytes = typeof value === 'number' ? 1 + Math.ceil(String(value).length / 2) : Buffer.byteLength(String(value), 'utf8');
    return sum + Buffer.byteLength(name, 'utf8') + bytes;
  }, 0);
}

export class FakeIngestTables {
  /** The Log's head item; undefined until a stream's first append. */
  head: { head: number; headChain: string } | undefined;
  /** Log entries by seq. */
  readonly entries = new Map<number, Item>();
  /** Markers by `requestId`, then by chunk. */
  readonly markers = new Map<string, Map<number, Item>>();
  /** Every transaction that committed, in order. */
  readonly committed: TransactWriteCommandInput[] = [];

  constructor(
    readonly logTable: string,
    readonly requestsTable: string,
    readonly stream: string,
  ) {}

  /** Answers the head GetItem, TransactWriteItems and the markers Query on `stub`. */
  install(stub: DocumentStub): void {
    stub.on(GetCommand, { TableName: this.logTable }).callsFake(() => (this.head === undefined ? {} : { Item: { stream: this.stream, seq: 0, ...this.head } }));
    stub.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => this.transact(input));
    stub.on(QueryCommand, { TableName: this.requestsTable }).callsFake((input: QueryCommandInput) => ({ Items: this.markersOf(String(input.ExpressionAttributeValues?.[':requestId'])) }));
  }

  /** The Log entries in seq order. */
  log(): Item[] {
    return [...this.entries.entries()].sort(([a], [b]) => a - b).map(([, item]) => item);
  }

  markersOf(requestId: string): Item[] {
    return [...(this.markers.get(requestId)?.values() ?? [])].sort((a, b) => Number(a.chunk) - Number(b.chunk));
  }

  /** Checks every condition first and commits all or nothing, as DynamoDB does. */
  transact(input: TransactWriteCommandInput): Record<string, never> {
    const items = input.TransactItems ?? [];
    const bytes = items.reduce((sum, item) => sum + dynamoItemBytes(item.Put?.Item ?? {}), 0);
    if (items.length > MAX_ACTIONS || bytes > MAX_TRANSACTION_BYTES) {
      throw Object.assign(new Error(`Transaction payload size cannot exceed 4MB. Payload Size: ${bytes}`), { name: 'ValidationException' });
    }
    const reasons = items.map((item) => ({ Code: this.holds(item) ? 'None' : 'ConditionalCheckFailed' }));
    if (reasons.some((reason) => reason.Code !== 'None')) {
      throw new TransactionCanceledException({ message: `Transaction cancelled [${reasons.map((r) => r.Code).join(', ')}]`, $metadata: {}, CancellationReasons: reasons });
    }
    for (const item of items) this.write(item);
    this.committed.push(input);
    return {};
  }

  private holds(item: TransactItem): boolean {
    if (item.Update !== undefined) {
      const values = item.Update.ExpressionAttributeValues ?? {};
      const firstAppend = item.Update.ConditionExpression?.startsWith('attribute_not_exists(#head)') === true;
      return this.head === undefined ? firstAppend && values[':expected'] === 0 : this.head.head === values[':expected'];
    }
    const put = item.Put;
    if (put?.Item === undefined) throw new Error('the fake takes Update and Put actions only');
    if (put.TableName === this.logTable) return !this.entries.has(Number(put.Item.seq));
    const existing = this.markers.get(String(put.Item.requestId))?.get(Number(put.Item.chunk));
    return existing === undefined || Number(existing.expiresAt) <= Number(put.ExpressionAttributeValues?.[':now']);
  }

  private write(item: TransactItem): void {
    if (item.Update !== undefined) {
      const values = item.Update.ExpressionAttributeValues ?? {};
      this.head = { head: Number(values[':head']), headChain: String(values[':chain']) };
      return;
    }
    const stored = item.Put?.Item ?? {};
    if (item.Put?.TableName === this.logTable) {
      this.entries.set(Number(stored.seq), stored);
      return;
    }
    const requestMarkers = this.markers.get(String(stored.requestId)) ?? new Map<number, Item>();
    requestMarkers.set(Number(stored.chunk), stored);
    this.markers.set(String(stored.requestId), requestMarkers);
  }
}
