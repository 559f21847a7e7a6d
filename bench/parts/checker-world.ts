/**
 * The world a checker benchmark runs in: the fake AWS endpoint holding the checker fleet (fleet.ts)
 * — the Log (10,000 hash-chained updates and the head item), the 60 open intervals' plan headers as
 * the planner's coordinator and shards left them, the watermark below them — and, for the shard
 * about to be measured, its Scan segments (prepared pages), the other shards' partial tallies and a
 * check header that counts every other shard in: so the shard measured is the one that completes
 * the tick, and merges. The use cases' dependencies are built as the checker and checker-shard
 * handlers build them.
 *
 * Every shard is also folded without the SDK — the same FleetTally over the same nodes and log
 * links, the same pages by DynamoDB's 1 MB rule, the same chain reads (seqsToVerify, 100 keys a
 * BatchGetItem) — for the other shards' partials and for the fleet's calls and read units; the part
 * checks the fold against every shard it runs.
 */
import { DynamoCheckStore } from '#shared/adapters/dynamodb/check-store.ts';
import { DynamoClockStore } from '#shared/adapters/dynamodb/clock-store.ts';
import { DynamoConvergenceStore } from '#shared/adapters/dynamodb/convergence-store.ts';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { SqsTaskQueue } from '#shared/adapters/sqs/task-queue.ts';
import { DEFAULT_SETTINGS } from '#shared/domain/config.ts';
import { FleetTally, seqsToVerify, type TallyState } from '#shared/domain/convergence.ts';
import { intervalStart } from '#shared/domain/interval.ts';
import { readNodeItem } from '#shared/domain/node.ts';
import { parseTask, type CheckTask } from '#shared/domain/shard-task.ts';
import { segmentsOfShard, shardingFor, type Sharding } from '#shared/domain/sharding.ts';
import { NO_PLAN_TOTALS, type NodeState } from '#shared/domain/types.ts';
import type { CheckShardDeps } from '#shared/usecases/check-shard.ts';
import type { StartCheckDeps } from '#shared/usecases/start-check.ts';
import { itemBytes, plainItemBytes, toWireItem, type WireItem } from '../capacity/attribute-size.ts';
import { readUnits } from '../capacity/meter.ts';
import { pageCuts } from '../fake-aws/dynamodb.ts';
import { FakeAws, fakeClients, type FakeClients } from '../fake-aws/endpoint.ts';
import { CHECK_TICK, checkerLog, checkerNode, INTERVAL_SECONDS, membersBySegment, openIntervals, QUEUE, STREAM, TABLE, type CheckerLog } from './fleet.ts';

/** BatchGetItem's keys per call (shared/adapters/dynamodb/log-store.ts). */
const BATCH_GET_KEYS = 100;
const EXPIRES_AT = 2_000_000_000;
export const CHECKED_AT = intervalStart(CHECK_TICK, INTERVAL_SECONDS);

export interface CheckerFleet {
  readonly nodes: number;
  readonly idLength: number;
}

/** One shard folded without the SDK. */
export interface CheckShardCount {
  readonly shard: number;
  readonly segments: number;
  readonly nodes: number;
  /** The shard's own calls (before the merge), by `Service.Operation`. */
  readonly calls: Readonly<Record<string, number>>;
  /** Its Scan and chain reads. */
  readonly readUnits: number;
  readonly tally: TallyState;
}

/** The checker fleet on the fake endpoint (see the module's comment). */
export class CheckerWorld {
  readonly fake = new FakeAws();
  readonly clients: FakeClients;
  readonly cut: Sharding;
  readonly log: CheckerLog;
  private readonly members: Int32Array[];
  private prepared: number | undefined;

  constructor(readonly fleet: CheckerFleet) {
    this.cut = shardingFor(fleet.nodes, DEFAULT_SETTINGS);
    this.members = membersBySegment(fleet.nodes, fleet.idLength, this.cut.segments);
    this.log = checkerLog();
    const { dynamodb, sqs } = this.fake;
    dynamodb.createTable(TABLE.log, { partition: 'stream', sort: 'seq' });
    dynamodb.createTable(TABLE.nodes, { partition: 'nodeId' });
    dynamodb.createTable(TABLE.convergence, { partition: 'stream', sort: 'interval' });
    dynamodb.setItemCount(TABLE.nodes, fleet.nodes);
    for (const item of this.log.items) dynamodb.put(TABLE.log, item);
    sqs.createQueue(QUEUE.checkTasks, { keep: true });
    this.clients = fakeClients(this.fake);
  }

  /** The open intervals' plan headers, each reported by every planner shard, and the watermark below them (through the adapters). */
  async setUp(): Promise<void> {
    const convergence = new DynamoConvergenceStore(this.clients.doc, TABLE.convergence);
    for (const { interval, head } of openIntervals()) {
      const plannedAt = intervalStart(interval, INTERVAL_SECONDS).toISOString();
      await convergence.putPlanHeader({ stream: STREAM, interval, head, headChain: this.log.chains[head] ?? '', plannedAt, ...this.cut, previousSegments: this.cut.segments }, EXPIRES_AT);
      for (let shard = 0; shard < this.cut.shards; shard += 1) {
        const nodes = this.shardNodes(shard);
        await convergence.reportPlanShard(STREAM, interval, shard, { totals: { ...NO_PLAN_TOTALS, activeNodes: nodes, nodesPlanned: nodes, microbatches: nodes, updatesPlanned: nodes * 60, scannedItems: nodes } });
      }
    }
    const first = openIntervals()[0]?.interval ?? CHECK_TICK;
    await convergence.closeThrough(STREAM, first - 1);
  }

  /** The coordinator's dependencies, as functions/checker/handler.ts builds them. */
  startCheckDeps(): StartCheckDeps {
    const { doc, sqs } = this.clients;
    return {
      stream: STREAM,
      intervalSeconds: INTERVAL_SECONDS,
      openIntervals: DEFAULT_SETTINGS.openIntervals,
      sharding: DEFAULT_SETTINGS,
      log: new DynamoLogStore(doc, TABLE.log),
      nodes: new DynamoNodeRepository(doc, TABLE.nodes),
      convergence: new DynamoConvergenceStore(doc, TABLE.convergence),
      checks: new DynamoCheckStore(doc, TABLE.convergence),
      clock: new DynamoClockStore(doc, TABLE.convergence),
      tasks: new SqsTaskQueue<CheckTask>(sqs, QUEUE.checkTasks),
    };
  }

  /** A checker shard's dependencies, as functions/checker-shard/handler.ts builds them. */
  checkShardDeps(): CheckShardDeps {
    const { doc } = this.clients;
    return {
      stream: STREAM,
      intervalSeconds: INTERVAL_SECONDS,
      reportTopN: DEFAULT_SETTINGS.reportTopN,
      log: new DynamoLogStore(doc, TABLE.log),
      nodes: new DynamoNodeRepository(doc, TABLE.nodes),
      convergence: new DynamoConvergenceStore(doc, TABLE.convergence),
      checks: new DynamoCheckStore(doc, TABLE.convergence),
    };
  }

  takeTasks(): CheckTask[] {
    return this.fake.sqs.take(QUEUE.checkTasks).map((body) => parseTask(body) as CheckTask);
  }

  /** Forgets the tick's check header, so the coordinator can run again as the first writer. */
  resetCheckHeader(): void {
    this.fake.dynamodb.delete(TABLE.convergence, checkHeaderKey());
  }

  shardNodes(shard: number): number {
    return segmentsOfShard(shard, this.cut).reduce((total, segment) => total + (this.members[segment]?.length ?? 0), 0);
  }

  /** The nodes of one segment, as the document client reads their items. */
  segmentItems(segment: number): Readonly<Record<string, unknown>>[] {
    return Array.from(this.members[segment] ?? [], (index) => checkerNode(index, this.fleet.idLength, this.log.chains));
  }

  /** Folds `shard` as its run would, without the SDK (see the module's comment). */
  count(shard: number, task: CheckTask): CheckShardCount {
    const tally = new FleetTally(task.heads, { now: new Date(task.checkedAt), intervalSeconds: INTERVAL_SECONDS, averageIngestPerInterval: task.averageIngestPerInterval, topN: DEFAULT_SETTINGS.reportTopN });
    const highestHead = Math.max(...task.heads);
    const segments = segmentsOfShard(shard, this.cut);
    let scans = 0;
    let batchGets = 0;
    // The newest-tick Query (is the task superseded?): one small check header, read consistently.
    let reads = 1;
    let nodes = 0;
    // The links the shard has read: a page reads only the ones it has not (check-shard.ts keeps them).
    const known = new Set<number>();
    for (const segment of segments) {
      const items = this.segmentItems(segment);
      let start = 0;
      for (const page of pageCuts(items.map((item) => plainItemBytes(item)))) {
        scans += 1;
        reads += readUnits(page.bytes, true);
        const pageNodes: NodeState[] = [];
        for (const item of items.slice(start, start + page.items)) {
          const read = readNodeItem(item);
          if ('node' in read && read.node.status === 'active') pageNodes.push(read.node);
        }
        start += page.items;
        if (pageNodes.length === 0) continue;
        const seqs = seqsToVerify(pageNodes, highestHead).filter((seq) => seq >= 1 && !known.has(seq));
        batchGets += Math.ceil(seqs.length / BATCH_GET_KEYS);
        // A BatchGetItem is billed per item read; a log entry (< 4 KB) is one unit.
        const found = seqs.filter((seq) => this.log.links.has(seq));
        reads += found.length;
        for (const seq of found) known.add(seq);
        for (const node of pageNodes) tally.add(node, this.log.links);
        nodes += pageNodes.length;
      }
    }
    return {
      shard,
      segments: segments.length,
      nodes,
      calls: { 'DynamoDB.Query': 1, 'DynamoDB.Scan': scans, ...(batchGets > 0 ? { 'DynamoDB.BatchGetItem': batchGets } : {}), 'DynamoDB.PutItem': 1, 'DynamoDB.UpdateItem': 1 },
      readUnits: reads,
      tally: tally.state(),
    };
  }

  /**
   * Makes `shard` the last of its tick to report: its Scan pages prepared, every other shard's
   * partial tally stored (through the adapter) and counted in the check header, its own partial and
   * the tick's merged mark cleared. Run again before every run of the shard.
   */
  async prepareLastShard(shard: number, partials: readonly TallyState[]): Promise<void> {
    const { dynamodb } = this.fake;
    if (this.prepared !== shard) {
      dynamodb.dropScans(TABLE.nodes);
      for (const segment of segmentsOfShard(shard, this.cut)) dynamodb.prepareScan(TABLE.nodes, this.cut.segments, segment, this.segmentItems(segment).map((item) => toWireItem(item)));
      const checks = new DynamoCheckStore(this.clients.doc, TABLE.convergence);
      for (const [other, tally] of partials.entries()) if (other !== shard) await checks.putPartial(STREAM, CHECK_TICK, other, tally, EXPIRES_AT);
      this.prepared = shard;
    }
    dynamodb.delete(TABLE.convergence, toWireItem({ stream: partialPartition(), interval: shard }));
    const header = dynamodb.get(TABLE.convergence, checkHeaderKey());
    if (header === undefined) throw new Error('the coordinator wrote no check header');
    const others = Array.from({ length: this.cut.shards }, (_, index) => index).filter((index) => index !== shard);
    const rest = Object.fromEntries(Object.entries(header).filter(([name]) => name !== 'reportedShards'));
    dynamodb.put(TABLE.convergence, { ...rest, merged: { BOOL: false }, ...(others.length > 0 ? { reportedShards: { NS: others.map(String) } } : {}) });
  }

  /** The stored partial tally of `shard`, as DynamoDB sizes the item. */
  partialBytes(shard: number): number {
    const item = this.fake.dynamodb.get(TABLE.convergence, toWireItem({ stream: partialPartition(), interval: shard }));
    return item === undefined ? 0 : itemBytes(item);
  }

  /** The open intervals' records as the verdicts left them, as DynamoDB sizes them. */
  verdictItems(): { readonly interval: number; readonly bytes: number; readonly item: WireItem }[] {
    return openIntervals().flatMap(({ interval }) => {
      const item = this.fake.dynamodb.get(TABLE.convergence, toWireItem({ stream: STREAM, interval }));
      return item === undefined ? [] : [{ interval, bytes: itemBytes(item), item }];
    });
  }

  destroy(): void {
    this.fake.dynamodb.dropScans(TABLE.nodes);
    this.clients.destroy();
  }
}

function checkHeaderKey(): WireItem {
  return toWireItem({ stream: `${STREAM}#check`, interval: CHECK_TICK });
}

function partialPartition(): string {
  return `${STREAM}#check#${CHECK_TICK}`;
}
