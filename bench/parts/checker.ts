/**
 * The sharded checker at fleet scale (DESIGN §7; issue 14: every interval judged within half of
 * t = 60 s at 1,000,000 nodes, the SDK's CPU counted): the real coordinator (startCheck) and checker
 * shards (checkShard) through the real adapters and SDK clients, answered by the fake AWS endpoint,
 * its own CPU left out. 1,000,000 and 100,000 nodes with 64-character ids (the longest: the Scan
 * pages and the verdicts' names at their largest), 60 open intervals (fleet.ts):
 *
 *   - the coordinator: three runs answered at once (CPU: the median), one at 10 ms a call (wall);
 *   - shards: runs answered at once over three shards spread across the cut (each of two shards once
 *     at 100,000 nodes; CPU: the median, of two the higher), then one at 10 ms a call under the adapters' concurrency (4 segments, 16 BatchGetItem calls in
 *     flight). Each run is the tick's last shard (the others' partials are stored and counted in), so
 *     it also merges the partials and writes the 60 verdicts: the slowest shard of a tick. The merge's
 *     own CPU is taken between the shard's report and its markMerged request;
 *   - every shard folded without the SDK (checker-world.ts), checked against each run, for the other
 *     shards' partials and the fleet's calls and read units.
 *
 * The verdict is sized as the adapter leaves it: the Convergence item after the real recordVerdict,
 * on the header the planner's coordinator and shards wrote.
 */
import { checkShard, type CheckShardResult } from '#shared/usecases/check-shard.ts';
import { startCheck, type StartCheckResult } from '#shared/usecases/start-check.ts';
import type { CheckTask } from '#shared/domain/shard-task.ts';
import type { TallyState } from '#shared/domain/convergence.ts';
import { CapacityLedger, emptyTally, type CapacityTally } from '../capacity/tally.ts';
import type { Exchange } from '../request-recorder.ts';
import { OPEN_INTERVALS, QUEUE, TABLE } from './fleet.ts';
import { CHECKED_AT, CheckerWorld, type CheckerFleet, type CheckShardCount } from './checker-world.ts';
import { costPerMillion, gbSeconds, type CostPerMillion, type IntervalUsage } from './sharded-cost.ts';
import { medianByCpu, round, sampleShards, sum, timed, type Run } from './shard-run.ts';

const LATENCY_MS = 10;
const CPU_RUNS = 3;
const HALF_INTERVAL_MS = 30_000;

export interface CheckerShardFigures {
  readonly shard: number;
  readonly nodes: number;
  readonly segments: number;
  readonly cpuShards: readonly number[];
  readonly cpuRunsMs: readonly number[];
  /** CPU of the tick's last shard answered at once (its fold, its partial, the merge and the verdicts), the SDK's included. */
  readonly cpuMs: number;
  readonly serverCpuMs: number;
  /** Of cpuMs, the merge: from the shard's report to its markMerged request (the median run's). */
  readonly mergeCpuMs: number;
  readonly latencyMs: number;
  readonly wallMs: number;
  readonly wallCpuMs: number;
  readonly mergeWallMs: number;
  readonly shareOfHalfInterval: number;
  /** The shard's own calls (Scan, BatchGetItem, its partial and report) and the merge's. */
  readonly calls: Readonly<Record<string, number>>;
  readonly mergeCalls: Readonly<Record<string, number>>;
  readonly callsPerNode: number;
  readonly scanPages: number;
  readonly batchGetCalls: number;
  /** The shard's partial tally as stored (the item's bytes). */
  readonly partialBytes: number;
  /** The largest interval record after its verdict, as DynamoDB sizes it. */
  readonly verdictBytes: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  readonly mergeReadUnits: number;
  readonly mergeWriteUnits: number;
  readonly heapGrowthMb: number;
}

export interface CheckerFleetFigures {
  readonly nodes: number;
  readonly idLength: number;
  readonly openIntervals: number;
  readonly shards: number;
  readonly segments: number;
  readonly coordinator: { readonly cpuMs: number; readonly wallMs: number; readonly calls: Readonly<Record<string, number>>; readonly readUnits: number; readonly writeUnits: number; readonly taskRequests: number };
  readonly shard: CheckerShardFigures;
  readonly fleet: {
    readonly shardsCounted: number;
    readonly activeNodes: number;
    readonly calls: Readonly<Record<string, number>>;
    readonly callsPerNode: number;
    readonly readUnits: number;
    readonly writeUnits: number;
    readonly shardSeconds: number;
    /** What the merged verdict says of the newest open interval (a sanity check of the fold). */
    readonly consistentNodes: number;
  };
  readonly cost: CostPerMillion;
}

export interface CheckerResult {
  readonly nodes1M: CheckerFleetFigures;
  readonly nodes100k: CheckerFleetFigures;
  /** Where the nodes' cursors are: what decides the chain reads. */
  readonly cursorSpread: string;
}

function sameCalls(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((key) => (a[key] ?? 0) === (b[key] ?? 0));
}

function callsOf(exchanges: readonly Exchange[]): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const { operation } of exchanges) calls[`DynamoDB.${operation}`] = (calls[`DynamoDB.${operation}`] ?? 0) + 1;
  return calls;
}

const isReport = (request: Readonly<Record<string, unknown>>): boolean => String(request.UpdateExpression).includes('#reportedShards');
const isMarkMerged = (request: Readonly<Record<string, unknown>>): boolean => String(request.UpdateExpression).includes('#merged');

interface ShardRun {
  readonly run: Run<CheckShardResult>;
  readonly mergeCpuMs: number;
  readonly mergeWallMs: number;
}

/** One run of `task`'s shard as the tick's last; the merge timed between its report and its markMerged. */
async function runLastShard(world: CheckerWorld, task: CheckTask, partials: readonly TallyState[]): Promise<ShardRun> {
  await world.prepareLastShard(task.shard, partials);
  let reported: { cpu: number; wall: number } | undefined;
  let merged: { cpu: number; wall: number } | undefined;
  world.fake.onRequest = (operation, request) => {
    if (operation !== 'UpdateItem') return;
    if (isReport(request)) reported = { cpu: world.fake.clientCpuUs(), wall: performance.now() };
    else if (isMarkMerged(request)) merged = { cpu: world.fake.clientCpuUs(), wall: performance.now() };
  };
  try {
    const run = await timed(world.fake, () => checkShard(task, world.checkShardDeps()));
    if (run.result.merged === undefined || reported === undefined || merged === undefined) throw new Error(`checker shard ${task.shard} did not merge the tick`);
    return { run, mergeCpuMs: round((merged.cpu - reported.cpu) / 1000), mergeWallMs: round(merged.wall - reported.wall) };
  } finally {
    world.fake.onRequest = undefined;
  }
}

function slowest(runs: readonly ShardRun[]): ShardRun {
  const [first, ...rest] = runs;
  if (first === undefined) throw new RangeError('no runs');
  return rest.reduce((best, candidate) => (candidate.run.cpuMs > best.run.cpuMs ? candidate : best), first);
}

/** Teaches the meter the records a run will update, so their updates are billed on the whole item. */
function teach(world: CheckerWorld, ledger: CapacityLedger): void {
  const exchanges: Exchange[] = world.verdictItems().map(({ item }) => ({
    service: 'dynamodb',
    operation: 'GetItem',
    status: 200,
    request: { TableName: TABLE.convergence, Key: { stream: item.stream, interval: item.interval }, ConsistentRead: true },
    response: { Item: item },
    startedAt: 0,
    endedAt: 0,
  }));
  ledger.charge(exchanges, emptyTally());
}

async function measureFleet(fleet: CheckerFleet, progress: (line: string) => void): Promise<CheckerFleetFigures> {
  const label = `checker ${fleet.nodes.toLocaleString('en-US')}`;
  const world = new CheckerWorld(fleet);
  try {
    await world.setUp();
    const ledger = new CapacityLedger();
    const coordinatorRun = async (): Promise<Run<StartCheckResult>> => {
      world.resetCheckHeader();
      world.takeTasks();
      return timed(world.fake, () => startCheck({ now: CHECKED_AT }, world.startCheckDeps()));
    };
    const coordinatorRuns: Run<StartCheckResult>[] = [];
    for (let index = 0; index < CPU_RUNS; index += 1) coordinatorRuns.push(await coordinatorRun());
    world.fake.latencyMs = LATENCY_MS;
    world.fake.recording = true;
    world.fake.sqs.resetStats(QUEUE.checkTasks);
    const coordinatorSlow = await coordinatorRun();
    world.fake.recording = false;
    world.fake.latencyMs = 0;
    const coordinatorTally = ledger.charge(world.fake.takeExchanges());
    if (coordinatorSlow.result.judged.length !== OPEN_INTERVALS) throw new Error(`${label}: the coordinator judges ${coordinatorSlow.result.judged.length} intervals, not ${OPEN_INTERVALS}`);
    const coordinator = {
      cpuMs: medianByCpu(coordinatorRuns).cpuMs,
      wallMs: coordinatorSlow.wallMs,
      calls: coordinatorSlow.calls,
      readUnits: coordinatorTally.readUnits,
      writeUnits: coordinatorTally.writeUnits,
      taskRequests: world.fake.sqs.stats(QUEUE.checkTasks).billableRequests,
    };
    const tasks = world.takeTasks();
    const { shards, segments } = world.cut;
    const taskOf = (shard: number): CheckTask => {
      const task = tasks.find((candidate) => candidate.shard === shard);
      if (task === undefined) throw new Error(`the coordinator sent no task for shard ${shard}`);
      return task;
    };
    progress(`${label}: S = ${shards}, B = ${segments}; coordinator ${coordinator.cpuMs} ms CPU; folding every shard without the SDK…`);
    const counts: CheckShardCount[] = Array.from({ length: shards }, (_, shard) => world.count(shard, taskOf(shard)));
    const partials = counts.map((count) => count.tally);
    const countOf = (shard: number): CheckShardCount => {
      const count = counts[shard];
      if (count === undefined) throw new Error(`no count of shard ${shard}`);
      return count;
    };

    const cpuShards = sampleShards(shards, Math.min(CPU_RUNS, shards)).reverse();
    const wallShard = cpuShards.at(-1) ?? 0;
    const cpuRuns: ShardRun[] = [];
    for (const shard of cpuShards) cpuRuns.push(await runLastShard(world, taskOf(shard), partials));
    const medianRun = medianByCpu(cpuRuns.map(({ run }) => run));
    const median = cpuRuns.find(({ run }) => run === medianRun) ?? slowest(cpuRuns);
    progress(`${label}: last-shard CPU ${cpuRuns.map(({ run }) => run.cpuMs).join(' / ')} ms (merge ${median.mergeCpuMs} ms); now shard ${wallShard} at ${LATENCY_MS} ms a call…`);

    world.fake.latencyMs = LATENCY_MS;
    world.fake.recording = true;
    const slow = await runLastShard(world, taskOf(wallShard), partials);
    world.fake.recording = false;
    world.fake.latencyMs = 0;
    const exchanges = world.fake.takeExchanges();
    const split = exchanges.findIndex((exchange) => exchange.operation === 'UpdateItem' && isReport(exchange.request)) + 1;
    teach(world, ledger);
    const shardTally: CapacityTally = ledger.charge(exchanges.slice(0, split), emptyTally());
    const mergeTally: CapacityTally = ledger.charge(exchanges.slice(split), emptyTally());
    const shardCalls = callsOf(exchanges.slice(0, split));
    const mergeCalls = callsOf(exchanges.slice(split));
    const count = countOf(wallShard);
    const problems: string[] = [];
    if (!sameCalls(count.calls, shardCalls)) problems.push(`calls ${JSON.stringify(count.calls)} counted, ${JSON.stringify(shardCalls)} made`);
    if (count.readUnits !== shardTally.readUnits) problems.push(`${count.readUnits} read units counted, ${shardTally.readUnits} metered`);
    if (count.nodes !== slow.run.result.activeNodes) problems.push(`${count.nodes} nodes counted, ${slow.run.result.activeNodes} judged`);
    if (problems.length > 0) throw new Error(`${label} shard ${wallShard}: the fold disagrees with the run: ${problems.join('; ')}`);
    const verdicts = world.verdictItems();
    const verdictBytes = Math.max(...verdicts.map((verdict) => verdict.bytes));
    if (verdicts.length !== OPEN_INTERVALS) throw new Error(`${label}: ${verdicts.length} verdicts written, not ${OPEN_INTERVALS}`);
    const nodes = count.nodes;
    const shard: CheckerShardFigures = {
      shard: wallShard,
      nodes,
      segments: count.segments,
      cpuShards,
      cpuRunsMs: cpuRuns.map(({ run }) => run.cpuMs),
      cpuMs: median.run.cpuMs,
      serverCpuMs: median.run.serverCpuMs,
      mergeCpuMs: median.mergeCpuMs,
      latencyMs: LATENCY_MS,
      wallMs: slow.run.wallMs,
      wallCpuMs: slow.run.cpuMs,
      mergeWallMs: slow.mergeWallMs,
      shareOfHalfInterval: round(slow.run.wallMs / HALF_INTERVAL_MS, 3),
      calls: shardCalls,
      mergeCalls,
      callsPerNode: round(sum(Object.values(shardCalls)) / nodes, 4),
      scanPages: shardCalls['DynamoDB.Scan'] ?? 0,
      batchGetCalls: shardCalls['DynamoDB.BatchGetItem'] ?? 0,
      partialBytes: world.partialBytes(wallShard),
      verdictBytes,
      readUnits: shardTally.readUnits,
      writeUnits: shardTally.writeUnits,
      mergeReadUnits: mergeTally.readUnits,
      mergeWriteUnits: mergeTally.writeUnits,
      heapGrowthMb: slow.run.heapGrowthMb,
    };
    progress(`${label}: shard ${wallShard} ${slow.run.wallMs} ms wall at ${LATENCY_MS} ms a call (${slow.run.cpuMs} ms CPU), verdict ${verdictBytes} B, partial ${shard.partialBytes} B`);

    const calls: Record<string, number> = { ...coordinator.calls };
    for (const shardCount of counts) for (const [call, made] of Object.entries(shardCount.calls)) calls[call] = (calls[call] ?? 0) + made;
    for (const [call, made] of Object.entries(mergeCalls)) calls[call] = (calls[call] ?? 0) + made;
    // Each shard's own writes (its partial and its report) are the measured shard's: the same items to within bytes.
    const usage: IntervalUsage = {
      nodes: fleet.nodes,
      readUnits: coordinator.readUnits + sum(counts.map((shardCount) => shardCount.readUnits)) + mergeTally.readUnits,
      writeUnits: coordinator.writeUnits + shards * shardTally.writeUnits + mergeTally.writeUnits,
      fifoRequests: 0,
      standardRequests: coordinator.taskRequests,
      lambdaRequests: 1 + shards,
      lambdaGbSeconds: gbSeconds('checker', coordinator.wallMs) + sum(counts.map((shardCount) => gbSeconds('checkerShard', (slow.run.wallMs * shardCount.nodes) / nodes))),
    };
    const newest = slow.run.result.merged?.evaluated.at(-1);
    return {
      nodes: fleet.nodes,
      idLength: fleet.idLength,
      openIntervals: OPEN_INTERVALS,
      shards,
      segments,
      coordinator,
      shard,
      fleet: {
        shardsCounted: counts.length,
        activeNodes: sum(counts.map((shardCount) => shardCount.nodes)),
        calls,
        callsPerNode: round(sum(Object.values(calls)) / fleet.nodes, 4),
        readUnits: usage.readUnits,
        writeUnits: usage.writeUnits,
        shardSeconds: round(sum(counts.map((shardCount) => (slow.run.wallMs * shardCount.nodes) / nodes)) / 1000, 1),
        consistentNodes: newest?.consistentNodes ?? 0,
      },
      cost: costPerMillion(usage),
    };
  } finally {
    world.destroy();
  }
}

export async function measureChecker(progress: (line: string) => void): Promise<CheckerResult> {
  const nodes1M = await measureFleet({ nodes: 1_000_000, idLength: 64 }, progress);
  const nodes100k = await measureFleet({ nodes: 100_000, idLength: 64 }, progress);
  return { nodes1M, nodes100k, cursorSpread: 'uniform over the last 7,000 of 10,000 seqs; open heads 4,100 … 10,000, 100 apart' };
}
