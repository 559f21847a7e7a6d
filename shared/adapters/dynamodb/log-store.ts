/**
 * The Log table (DESIGN §3): pk `stream` (S), sk `seq` (N). Seq 0 is the head item
 * `{ head, headChain, updatedAt }`; seq ≥ 1 are the entries `{ key, op, value?, chain, producedAt }`.
 * And the IngestRequests table: pk `requestId` (S), sk `chunk` (N), one marker per committed chunk
 * of an idempotent request, put in the chunk's own transaction (DESIGN §4).
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchGetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';
import { AppendThrottledError, ChunkCommittedError, HeadMovedError } from '#shared/domain/errors.ts';
import { chunkMarkerItem, requestId, type ChunkMarker } from '#shared/domain/ingest.ts';
import { logEntryItem } from '#shared/domain/item-size.ts';
import { checkAppend, type IngestRequestReader, type LogReader, type LogWriter } from '#shared/domain/ports.ts';
import { OP_NAMES } from '#shared/domain/ops.ts';
import type { ChainLink, LogEntry, LogHead } from '#shared/domain/types.ts';
import type { Sleep } from '../backoff.ts';
import { fullJitterDelay, realSleep } from '../backoff.ts';
import { chunk, requirePositiveInteger } from '../batching.ts';
import { answered, UnprocessedKeysError } from '../errors.ts';
import type { StoredItem } from './items.ts';
import { ItemReader, queryAll } from './items.ts';
import { DynamoLogHead, HEAD_SEQ } from './log-head.ts';

/** BatchGetItem takes 100 keys. */
const BATCH_GET_KEYS = 100;
/**
 * BatchGetItem calls in flight at once per readChains: 16 calls of 10 ms read 160,000 links a second,
 * so the 200,000 seqs of 100,000 lagging nodes take ~1.3 s; few enough not to throttle on their own.
 */
const BATCH_GET_CONCURRENCY = 16;
/**
 * What readChains projects, behind name placeholders (reserved words cannot appear bare in an
 * expression). A projection does not change what a read costs or what counts against BatchGetItem's
 * limits — DynamoDB sizes both by the whole item — but it keeps values of up to 350 KiB off the
 * wire and out of the checker's memory.
 */
const CHAIN_PROJECTION = {
  ProjectionExpression: '#seq, #chain, #producedAt',
  ExpressionAttributeNames: { '#seq': 'seq', '#chain': 'chain', '#producedAt': 'producedAt' },
} as const;
/** Cancellation reasons that mean "another writer got there first", not "the request is wrong". */
const LOST_RACE_CODES = new Set(['ConditionalCheckFailed', 'TransactionConflict']);
/** Cancellation reasons that mean "not now": the table or a partition is over its throughput. */
const THROTTLED_CODES = new Set(['ThrottlingError', 'ProvisionedThroughputExceeded']);

/** The IngestRequests table, and tuning for the retries of unprocessed BatchGetItem keys; the defaults suit production. */
export interface DynamoLogStoreOptions {
  /** The IngestRequests table: needed only to append or read the markers of idempotent requests. */
  readonly ingestRequestsTable?: string;
  /** BatchGetItem attempts in a row that read nothing before a chunk gives up (default 6). */
  readonly maxBatchGetAttempts?: number;
  readonly sleep?: Sleep;
}

/** {@link LogReader}, {@link LogWriter} and {@link IngestRequestReader} over the Log and IngestRequests tables. */
export class DynamoLogStore implements LogReader, LogWriter, IngestRequestReader {
  private readonly maxBatchGetAttempts: number;
  private readonly sleep: Sleep;
  private readonly ingestRequestsTable: string | undefined;
  private readonly head: DynamoLogHead;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoLogStoreOptions = {},
  ) {
    this.maxBatchGetAttempts = requirePositiveInteger(options.maxBatchGetAttempts ?? 6, 'maxBatchGetAttempts');
    this.sleep = options.sleep ?? realSleep;
    this.ingestRequestsTable = options.ingestRequestsTable;
    this.head = new DynamoLogHead(doc, tableName);
  }

  readHead(stream: string): Promise<LogHead> {
    return this.head.readHead(stream);
  }

  async readRange(stream: string, from: number, to: number): Promise<LogEntry[]> {
    // Never below 1: seq 0 is the head item, not an entry.
    const lo = Math.max(from + 1, 1);
    if (to < lo) return [];
    const items = await queryAll(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: '#stream = :stream AND #seq BETWEEN :lo AND :hi',
      ExpressionAttributeNames: { '#stream': 'stream', '#seq': 'seq' },
      ExpressionAttributeValues: { ':stream': stream, ':lo': lo, ':hi': to },
      ConsistentRead: true,
    });
    return items.map((item) => this.toEntry(item));
  }

  async readChains(stream: string, seqs: readonly number[]): Promise<Map<number, ChainLink>> {
    const wanted = [...new Set(seqs)].filter((seq) => Number.isInteger(seq) && seq >= 1);
    const links = new Map<number, ChainLink>();
    const limit = pLimit(BATCH_GET_CONCURRENCY);
    await Promise.all(
      chunk(wanted, BATCH_GET_KEYS).map((group) =>
        limit(async () => {
          for (const stored of await this.batchGet(group.map((seq) => ({ stream, seq })))) {
            const item = new ItemReader(this.tableName, stored);
            const link = { seq: item.number('seq'), chain: item.string('chain'), producedAt: item.string('producedAt') };
            links.set(link.seq, link);
          }
        }),
      ),
    );
    return links;
  }

  async readMarkers(stream: string, idempotencyKey: string): Promise<ChunkMarker[]> {
    const tableName = this.requestsTable();
    const items = await queryAll(this.doc, {
      TableName: tableName,
      KeyConditionExpression: '#requestId = :requestId',
      ExpressionAttributeNames: { '#requestId': 'requestId' },
      ExpressionAttributeValues: { ':requestId': requestId(stream, idempotencyKey) },
      // A marker another attempt committed a moment ago must be seen: it is why we read.
      ConsistentRead: true,
    });
    return items.map((stored) => {
      const item = new ItemReader(tableName, stored);
      return {
        stream,
        idempotencyKey,
        chunk: item.number('chunk'),
        chunks: item.number('chunks'),
        firstSeq: item.number('firstSeq'),
        lastSeq: item.number('lastSeq'),
        fingerprint: item.string('fingerprint'),
        retries: item.number('retries'),
        committedAt: item.string('committedAt'),
        expiresAt: item.number('expiresAt'),
      };
    });
  }

  async append(stream: string, expected: LogHead, entries: readonly LogEntry[], updatedAt: string, marker?: ChunkMarker): Promise<void> {
    const last = checkAppend(stream, expected, entries, updatedAt, marker);

    const headUpdate = {
      TableName: this.tableName,
      Key: { stream, seq: HEAD_SEQ },
      UpdateExpression: 'SET #head = :head, #headChain = :chain, #updatedAt = :updatedAt',
      // A stream's first append finds no head item at all.
      ConditionExpression: expected.head === 0 ? 'attribute_not_exists(#head) OR #head = :expected' : '#head = :expected',
      ExpressionAttributeNames: { '#head': 'head', '#headChain': 'headChain', '#updatedAt': 'updatedAt' },
      ExpressionAttributeValues: { ':head': last.seq, ':chain': last.chain, ':updatedAt': updatedAt, ':expected': expected.head },
    };
    const puts = entries.map((entry) => ({
      Put: {
        TableName: this.tableName,
        Item: logEntryItem(stream, entry),
        ConditionExpression: 'attribute_not_exists(#seq)',
        ExpressionAttributeNames: { '#seq': 'seq' },
      },
    }));

    // Second, so that its cancellation reason is always at index 1.
    const markerPut =
      marker === undefined
        ? []
        : [
            {
              Put: {
                TableName: this.requestsTable(),
                Item: chunkMarkerItem(marker),
                // An expired marker that TTL has not deleted yet no longer counts (DESIGN §4).
                ConditionExpression: 'attribute_not_exists(#requestId) OR #expiresAt <= :now',
                ExpressionAttributeNames: { '#requestId': 'requestId', '#expiresAt': 'expiresAt' },
                ExpressionAttributeValues: { ':now': Math.floor(Date.parse(updatedAt) / 1000) },
              },
            },
          ];

    try {
      // The SDK fills ClientRequestToken once per request, so its own retries of a transaction
      // whose response was lost are idempotent instead of failing on our own head condition.
      await this.doc.send(new TransactWriteCommand({ TransactItems: [{ Update: headUpdate }, ...markerPut, ...puts] }));
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
      // The marker first: whatever else failed, this chunk is already in the log.
      if (marker !== undefined && codes[1] === 'ConditionalCheckFailed') {
        throw new ChunkCommittedError(`chunk ${marker.chunk} of request ${marker.idempotencyKey} on stream ${stream} is already committed`, { cause: error });
      }
      if (codes.some((code) => LOST_RACE_CODES.has(code))) throw new HeadMovedError(`head of stream ${stream} is no longer ${expected.head}`, { cause: error });
      if (codes.some((code) => THROTTLED_CODES.has(code))) throw new AppendThrottledError(`append to stream ${stream} was throttled`, { cause: error });
      throw error;
    }
  }

  private requestsTable(): string {
    if (this.ingestRequestsTable === undefined) throw new TypeError('this log store was built without the IngestRequests table');
    return this.ingestRequestsTable;
  }

  /**
   * One chunk of keys, retrying the keys DynamoDB leaves unprocessed. It leaves some when a response
   * would pass 16 MB or read more than 1 MB from one partition — every entry of a stream is in one
   * partition, so 100 values near 350 KiB come back two or three per call — and under throttling.
   * A response that read something is progress: the next call goes at once, and only calls in a row
   * that read nothing (throttling) back off and count toward `maxBatchGetAttempts`.
   */
  private async batchGet(keys: readonly Record<string, unknown>[]): Promise<StoredItem[]> {
    const items: StoredItem[] = [];
    let pending = keys;
    let stalled = 0;
    for (;;) {
      const response = answered(
        await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: [...pending], ConsistentRead: true, ...CHAIN_PROJECTION } } }),
        ),
        'BatchGetItem',
        this.tableName,
      );
      items.push(...(response.Responses?.[this.tableName] ?? []));
      const unprocessed = response.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      if (unprocessed.length === 0) return items;
      const progressed = unprocessed.length < pending.length;
      pending = unprocessed;
      if (progressed) {
        stalled = 0;
        continue;
      }
      stalled += 1;
      if (stalled >= this.maxBatchGetAttempts) throw new UnprocessedKeysError(this.tableName, pending.length, stalled);
      await this.sleep(fullJitterDelay(stalled, 50, 1_000));
    }
  }

  private toEntry(stored: StoredItem): LogEntry {
    const item = new ItemReader(this.tableName, stored);
    const value = item.json('value');
    return {
      seq: item.number('seq'),
      key: item.string('key'),
      op: item.oneOf('op', OP_NAMES),
      ...(value === undefined ? {} : { value }),
      chain: item.string('chain'),
      producedAt: item.string('producedAt'),
    };
  }
}
