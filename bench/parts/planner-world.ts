/**
 * The world a planner benchmark runs in: the fake AWS endpoint holding one planner fleet (fleet.ts)
 * — the Log's head item, the previous interval's plan header and, for the shards about to be
 * measured, their Scan segments (prepared pages) and the segments' plan records of the previous
 * interval, written through the real plan ledger — and the use cases' dependencies built as the
 * planner and planner-shard handlers build them.
 *
 * It also counts a shard without running it: the same per-node decisions (the domain's planNode on
 * the node as its plan history leaves it), the records measured by the real plan ledger's own item
 * (captured, not sent), the pages cut by DynamoDB's 1 MB rule. That is how the fleet totals cover
 * every shard while only a few are run through the SDK; the part checks the count against every
 * shard it runs.
 */
import type { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoClockStore } from '#shared/adapters/dynamodb/clock-store.ts';
import { DynamoConvergenceStore } from '#shared/adapters/dynamodb/convergence-store.ts';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { DynamoPlanLedger, segmentKey } from '#shared/adapters/dynamodb/plan-ledger.ts';
import { SqsMicrobatchQueue } from '#shared/adapters/sqs/microbatch-queue.ts';
import { SqsTaskQueue } from '#shared/adapters/sqs/task-queue.ts';
import { DEFAULT_SETTINGS } from '#shared/domain/config.ts';
import { readNodeItem } from '#shared/domain/node.ts';
import { planNode, type PlanningRules } from '#shared/domain/plan.ts';
import { entryOf, withPlanHistory, type PlanEntry, type SegmentPlan } from '#shared/domain/segment-plan.ts';
import { parseTask, type PlanTask } from '#shared/domain/shard-task.ts';
import { segmentsOfShard, shardingFor, type Sharding } from '#shared/domain/sharding.ts';
import { NO_PLAN_TOTALS, type PlanTotals } from '#shared/domain/types.ts';
import type { PlanShardDeps } from '#shared/usecases/plan-shard.ts';
import type { StartPlanDeps } from '#shared/usecases/start-plan.ts';
import { itemBytes, plainItemBytes, toWireItem } from '../capacity/attribute-size.ts';
import { readUnits, writeUnits } from '../capacity/meter.ts';
import { pageCuts } from '../fake-aws/dynamodb.ts';
import { FakeAws, fakeClients, type FakeClients } from '../fake-aws/endpoint.ts';
import { BATCH_SIZE, INTERVAL_SECONDS, membersBySegment, PLAN_HEAD, PLAN_INTERVAL, plannerNode, QUEUE, STREAM, TABLE, type PlannerFleetKind, type PlannerNode } from './fleet.ts';

export interface PlannerFleet {
  readonly nodes: number;
  readonly kind: PlannerFleetKind;
  readonly idLength: number;
}

export const RULES: PlanningRules = { stream: STREAM, intervalSeconds: INTERVAL_SECONDS, batchSize: BATCH_SIZE, maxInFlightIntervals: 2, staleAfterIntervals: 3 };
const RETENTION_DAYS = 30;
export const PLANNED_AT = new Date(PLAN_INTERVAL * INTERVAL_SECONDS * 1000);
const PLANNED_AT_TEXT = PLANNED_AT.toISOString();
const EXPIRES_AT = Math.floor(PLANNED_AT.getTime() / 1000) + RETENTION_DAYS * 86_400;
const HEAD_CHAIN = 'd'.repeat(64);

/** What one shard makes, counted without running it. */
export interface ShardCount {
  readonly shard: number;
  readonly segments: number;
  readonly nodes: number;
  readonly tokens: number;
  /** Calls by `Service.Operation`, as the fake endpoint names them. */
  readonly calls: Readonly<Record<string, number>>;
  readonly readUnits: number;
  readonly writeUnits: number;
  /** The plan records the shard writes, as DynamoDB sizes them. */
  readonly recordBytes: readonly number[];
}

/** Bytes of an item the plan ledger writes: its binary entries counted raw, as DynamoDB counts binary. */
function planItemBytes(item: Readonly<Record<string, unknown>>): number {
  const { entries, ...rest } = item;
  return itemBytes(toWireItem(rest)) + 'entries'.length + (entries instanceof Uint8Array ? entries.byteLength : 0);
}

/** The item the real plan ledger would put for `plan`, captured instead of sent, and its size. */
async function ledgerItemBytes(plan: SegmentPlan, expiresAt: number): Promise<number> {
  let captured: Readonly<Record<string, unknown>> = {};
  const capture = {
    send: (command: PutCommand): Promise<object> => {
      captured = command.input.Item ?? {};
      return Promise.resolve({});
    },
  } as unknown as DynamoDBDocumentClient;
  await new DynamoPlanLedger(capture, TABLE.plans).commit(plan, expiresAt);
  return planItemBytes(captured);
}

/** One planner fleet on the fake endpoint (see the module's comment). */
export class PlannerWorld {
  readonly fake = new FakeAws();
  readonly clients: FakeClients;
  readonly cut: Sharding;
  private readonly members: Int32Array[];
  private prepared: number | undefined;

  constructor(readonly fleet: PlannerFleet) {
    this.cut = shardingFor(fleet.nodes, DEFAULT_SETTINGS);
    this.members = membersBySegment(fleet.nodes, fleet.idLength, this.cut.segments);
    const { dynamodb, sqs } = this.fake;
    dynamodb.createTable(TABLE.log, { partition: 'stream', sort: 'seq' });
    dynamodb.createTable(TABLE.nodes, { partition: 'nodeId' });
    dynamodb.createTable(TABLE.plans, { partition: 'segment', sort: 'interval' });
    dynamodb.createTable(TABLE.convergence, { partition: 'stream', sort: 'interval' });
    dynamodb.setItemCount(TABLE.nodes, fleet.nodes);
    dynamodb.put(TABLE.log, toWireItem({ stream: STREAM, seq: 0, head: PLAN_HEAD, headChain: HEAD_CHAIN, updatedAt: PLANNED_AT_TEXT }));
    sqs.createQueue(QUEUE.microbatch);
    sqs.createQueue(QUEUE.planTasks, { keep: true });
    this.clients = fakeClients(this.fake);
  }

  /** The previous interval's plan header, reported by every shard: what the coordinator reads back. */
  async setUp(): Promise<void> {
    const convergence = new DynamoConvergenceStore(this.clients.doc, TABLE.convergence);
    const previous = PLAN_INTERVAL - 1;
    const plannedAt = new Date(PLANNED_AT.getTime() - INTERVAL_SECONDS * 1000).toISOString();
    await convergence.putPlanHeader({ stream: STREAM, interval: previous, head: PLAN_HEAD - 60, headChain: HEAD_CHAIN, plannedAt, ...this.cut, previousSegments: this.cut.segments }, EXPIRES_AT);
    for (let shard = 0; shard < this.cut.shards; shard += 1) {
      const nodes = sumOf(segmentsOfShard(shard, this.cut).map((segment) => this.members[segment]?.length ?? 0));
      await convergence.reportPlanShard(STREAM, previous, shard, { totals: { ...NO_PLAN_TOTALS, activeNodes: nodes, scannedItems: nodes } });
    }
  }

  /** The coordinator's dependencies, as functions/planner/handler.ts builds them (a fresh item-count cache each run). */
  startPlanDeps(): StartPlanDeps {
    const { doc, sqs } = this.clients;
    return {
      stream: STREAM,
      intervalSeconds: INTERVAL_SECONDS,
      retentionDays: RETENTION_DAYS,
      sharding: DEFAULT_SETTINGS,
      log: new DynamoLogStore(doc, TABLE.log),
      nodes: new DynamoNodeRepository(doc, TABLE.nodes),
      convergence: new DynamoConvergenceStore(doc, TABLE.convergence),
      clock: new DynamoClockStore(doc, TABLE.convergence),
      tasks: new SqsTaskQueue<PlanTask>(sqs, QUEUE.planTasks),
    };
  }

  /** The plan tasks the coordinator sent since the last call, read back as a shard function reads them. */
  takeTasks(): PlanTask[] {
    return this.fake.sqs.take(QUEUE.planTasks).map((body) => parseTask(body) as PlanTask);
  }

  /** Forgets this interval's plan header, so the coordinator can run again as the first writer. */
  resetHeader(): void {
    this.fake.dynamodb.delete(TABLE.convergence, toWireItem({ stream: STREAM, interval: PLAN_INTERVAL }));
  }

  /** A planner shard's dependencies, as functions/planner-shard/handler.ts builds them. */
  planShardDeps(): PlanShardDeps {
    const { doc, sqs } = this.clients;
    return {
      rules: RULES,
      retentionDays: RETENTION_DAYS,
      nodes: new DynamoNodeRepository(doc, TABLE.nodes),
      ledger: new DynamoPlanLedger(doc, TABLE.plans),
      queue: new SqsMicrobatchQueue(sqs, QUEUE.microbatch),
      convergence: new DynamoConvergenceStore(doc, TABLE.convergence),
    };
  }

  /** Nodes in a shard's segments. */
  shardNodes(shard: number): number {
    return sumOf(segmentsOfShard(shard, this.cut).map((segment) => this.members[segment]?.length ?? 0));
  }

  /**
   * Makes `shard` runnable: its segments' Scan pages, and their plan records of the previous
   * interval through the real ledger (the SDK calls of this setup are not part of any figure).
   * Whatever shard was prepared before is released.
   */
  async prepareShard(shard: number): Promise<void> {
    if (this.prepared === shard) return;
    this.release();
    const ledger = new DynamoPlanLedger(this.clients.doc, TABLE.plans);
    for (const segment of segmentsOfShard(shard, this.cut)) {
      const nodes = this.segmentNodes(segment);
      this.fake.dynamodb.prepareScan(TABLE.nodes, this.cut.segments, segment, nodes.map(({ item }) => toWireItem(item)));
      await ledger.commit(previousRecord(segment, this.cut.segments, nodes.map(({ entry }) => entry)), EXPIRES_AT);
    }
    this.prepared = shard;
  }

  /** Forgets what a run of `shard` wrote this interval, so the next run plans the shard afresh. */
  resetShard(shard: number): void {
    for (const segment of segmentsOfShard(shard, this.cut)) this.fake.dynamodb.delete(TABLE.plans, toWireItem({ segment: segmentKey(STREAM, this.cut.segments, segment), interval: PLAN_INTERVAL }));
  }

  /** The plan records this interval holds, as DynamoDB sizes them. */
  recordsWritten(): { readonly bytes: number; readonly entriesBytes: number }[] {
    const records: { bytes: number; entriesBytes: number }[] = [];
    for (const item of this.fake.dynamodb.items(TABLE.plans)) {
      const interval = item.interval;
      if (interval === undefined || !('N' in interval) || Number(interval.N) !== PLAN_INTERVAL) continue;
      const entries = item.entries;
      records.push({ bytes: itemBytes(item), entriesBytes: entries !== undefined && 'B' in entries ? Buffer.from(entries.B, 'base64').length : 0 });
    }
    return records;
  }

  /** The plan header of this interval as DynamoDB sizes it (after the shards' reports). */
  headerBytes(): number {
    const header = this.fake.dynamodb.get(TABLE.convergence, toWireItem({ stream: STREAM, interval: PLAN_INTERVAL }));
    return header === undefined ? 0 : itemBytes(header);
  }

  /**
   * What `shard` makes, counted without the SDK (see the module's comment). `headerWriteUnits` is
   * the report's write units, taken from a measured run: the header's size depends on the order
   * the shards report in.
   */
  async count(shard: number, headerWriteUnits: number): Promise<ShardCount> {
    const segments = segmentsOfShard(shard, this.cut);
    let nodes = 0;
    let tokens = 0;
    let scans = 0;
    let reads = 0;
    let writes = headerWriteUnits;
    const recordBytes: number[] = [];
    for (const segment of segments) {
      const members = this.segmentNodes(segment);
      const entries: PlanEntry[] = [];
      const totals = { ...NO_PLAN_TOTALS } as { -readonly [K in keyof PlanTotals]: number };
      const sizes: number[] = [];
      for (const { item, entry } of members) {
        sizes.push(plainItemBytes(item));
        totals.scannedItems += 1;
        const read = readNodeItem(item);
        if (!('node' in read)) continue;
        const node = withPlanHistory(read.node, { entry, interval: PLAN_INTERVAL - 1 });
        if (node.status !== 'active') {
          entries.push(entryOf(node));
          continue;
        }
        totals.activeNodes += 1;
        const decision = planNode(node, PLAN_HEAD, PLAN_INTERVAL, PLANNED_AT_TEXT, RULES);
        if (decision.kind === 'skip') {
          entries.push(entryOf(node));
          continue;
        }
        if (decision.purpose === 'observe') totals.observations += 1;
        else totals.nodesPlanned += 1;
        if (decision.purpose === 'resend') totals.resends += 1;
        totals.microbatches += decision.microbatches.length;
        totals.updatesPlanned += decision.updates;
        entries.push({ nodeId: node.nodeId, ...decision.claim });
      }
      nodes += members.length;
      tokens += totals.microbatches;
      const pages = pageCuts(sizes);
      scans += pages.length;
      for (const page of pages) reads += readUnits(page.bytes, true);
      const prior = await ledgerItemBytes(previousRecord(segment, this.cut.segments, members.map(({ entry }) => entry)), EXPIRES_AT);
      reads += readUnits(prior, true);
      const record = await ledgerItemBytes(
        { stream: STREAM, segments: this.cut.segments, segment, interval: PLAN_INTERVAL, plannedAt: PLANNED_AT_TEXT, entries, totals: { ...totals, unsentNodes: 0 } },
        EXPIRES_AT,
      );
      recordBytes.push(record);
      writes += writeUnits(record);
    }
    const sends = Math.ceil(tokens / 10);
    // The newest-header Query reads one header item (well under 4 KB), consistently: one unit.
    reads += 1;
    return {
      shard,
      segments: segments.length,
      nodes,
      tokens,
      // One Query more than segments: the newest plan header (is the task superseded?).
      calls: { 'DynamoDB.Query': segments.length + 1, 'DynamoDB.Scan': scans, 'DynamoDB.PutItem': segments.length, 'DynamoDB.UpdateItem': 1, ...(sends > 0 ? { 'SQS.SendMessageBatch': sends } : {}) },
      readUnits: reads,
      writeUnits: writes,
      recordBytes,
    };
  }

  /** The nodes of `shard`'s segments, generated (for timing the decisions alone). */
  nodesOf(shard: number): PlannerNode[] {
    return segmentsOfShard(shard, this.cut).flatMap((segment) => this.segmentNodes(segment));
  }

  destroy(): void {
    this.release();
    this.clients.destroy();
  }

  private segmentNodes(segment: number): PlannerNode[] {
    return Array.from(this.members[segment] ?? [], (index) => plannerNode(index, this.fleet.kind, this.fleet.idLength));
  }

  private release(): void {
    const shard = this.prepared;
    if (shard === undefined) return;
    this.fake.dynamodb.dropScans(TABLE.nodes);
    for (const segment of segmentsOfShard(shard, this.cut)) this.fake.dynamodb.delete(TABLE.plans, toWireItem({ segment: segmentKey(STREAM, this.cut.segments, segment), interval: PLAN_INTERVAL - 1 }));
    this.resetShard(shard);
    this.prepared = undefined;
  }
}

/** The plan record of the previous interval, as the shard that planned it recorded it. */
function previousRecord(segment: number, segments: number, entries: readonly PlanEntry[]): SegmentPlan {
  const plannedAt = new Date(PLANNED_AT.getTime() - INTERVAL_SECONDS * 1000).toISOString();
  return { stream: STREAM, segments, segment, interval: PLAN_INTERVAL - 1, plannedAt, entries, totals: { ...NO_PLAN_TOTALS, activeNodes: entries.length, nodesPlanned: entries.length, microbatches: entries.length, scannedItems: entries.length } };
}

function sumOf(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

