/**
 * The Plans table (DESIGN §5): one item per segment per interval, pk `segment` (S) =
 * `<stream>#<segments>#<segment>`, sk `interval` (N), holding every node's plan in the segment as
 * gzip'd text (segment-plan.ts) beside the segment's totals; `expiresAt` is the TTL.
 *
 * 2,000 nodes with 12-character ids take ~14 KB compressed, 64-character random ids ~70 KB: one
 * write of a few dozen write units plans a whole segment, where claims cost one unit per node.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { PlanLedger } from '#shared/domain/ports.ts';
import { decodeEntries, encodeEntries, type PlanEntry, type SegmentPlan } from '#shared/domain/segment-plan.ts';
import { NO_PLAN_TOTALS, type PlanTotals } from '#shared/domain/types.ts';
import { MalformedItemError } from '../errors.ts';
import { ItemReader, isConditionFailed, newestItem } from './items.ts';

/**
 * Room for the compressed entries: DynamoDB's item limit is 400 KB (409,600 bytes) for names and
 * values together; the other attributes take a few hundred bytes.
 */
export const MAX_ENTRIES_BYTES = 400_000;

const TOTAL_FIELDS = Object.keys(NO_PLAN_TOTALS) as (keyof PlanTotals)[];

/** The partition of one segment's records: `#` cannot occur in a stream name. */
export function segmentKey(stream: string, segments: number, segment: number): string {
  return `${stream}#${segments}#${segment}`;
}

/** {@link PlanLedger} over the Plans table. */
export class DynamoPlanLedger implements PlanLedger {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly maxEntriesBytes = MAX_ENTRIES_BYTES,
  ) {}

  async latest(stream: string, segments: number, segment: number, upTo: number): Promise<SegmentPlan | undefined> {
    const stored = await newestItem(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: '#segment = :segment AND #interval <= :upTo',
      ExpressionAttributeNames: { '#segment': 'segment', '#interval': 'interval' },
      ExpressionAttributeValues: { ':segment': segmentKey(stream, segments, segment), ':upTo': upTo },
    });
    if (stored === undefined) return undefined;
    const item = new ItemReader(this.tableName, stored);
    const packed: unknown = stored.entries;
    if (!(packed instanceof Uint8Array)) throw new MalformedItemError(this.tableName, 'entries', 'is not binary');
    let entries: PlanEntry[];
    try {
      entries = decodeEntries(gunzipSync(packed).toString('utf8'));
    } catch (error) {
      throw new MalformedItemError(this.tableName, 'entries', `of ${segmentKey(stream, segments, segment)} at ${item.number('interval')} cannot be read back`, { cause: error });
    }
    const totals = Object.fromEntries(TOTAL_FIELDS.map((field) => [field, item.optionalNumber(field) ?? 0])) as unknown as PlanTotals;
    return { stream, segments, segment, interval: item.number('interval'), plannedAt: item.string('plannedAt'), entries, totals };
  }

  async commit(plan: SegmentPlan, expiresAtEpochSeconds: number): Promise<{ committed: boolean; spilled: readonly PlanEntry[] }> {
    const { packed, kept } = this.pack(plan.entries);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            segment: segmentKey(plan.stream, plan.segments, plan.segment),
            interval: plan.interval,
            plannedAt: plan.plannedAt,
            entries: packed,
            nodes: kept,
            spilled: plan.entries.length - kept,
            ...plan.totals,
            expiresAt: expiresAtEpochSeconds,
          },
          ConditionExpression: 'attribute_not_exists(#interval)',
          ExpressionAttributeNames: { '#interval': 'interval' },
        }),
      );
      return { committed: true, spilled: plan.entries.slice(kept) };
    } catch (error) {
      if (isConditionFailed(error)) return { committed: false, spilled: [] };
      throw error;
    }
  }

  /** The entries compressed, as many as fit (all of them unless the segment outgrew its cut). */
  private pack(entries: readonly PlanEntry[]): { packed: Uint8Array; kept: number } {
    const all = gzipSync(encodeEntries(entries));
    if (all.byteLength <= this.maxEntriesBytes) return { packed: all, kept: entries.length };
    // Rare (a fleet that grew past twice its cut within one interval): the longest prefix that fits.
    let lo = 0;
    let hi = entries.length;
    let best = gzipSync('');
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const packed = gzipSync(encodeEntries(entries.slice(0, mid)));
      if (packed.byteLength <= this.maxEntriesBytes) {
        lo = mid;
        best = packed;
      } else hi = mid - 1;
    }
    return { packed: best, kept: lo };
  }
}
