/**
 * The sharded planner at fleet scale (DESIGN §5; issue 14's goal: 1,000,000 active nodes planned
 * within half of t = 60 s, counting the SDK's own CPU): the real coordinator (startPlan) and planner
 * shards (planShard) through the real adapters and the real SDK clients, answered by the fake AWS
 * endpoint (bench/fake-aws/), whose own CPU is left out. For each fleet (fleet.ts: 1,000,000 and
 * 100,000 nodes, steady state and catch-up):
 *
 *   - the coordinator: three runs answered at once (CPU: the median), one at 10 ms a call (wall);
 *   - shards: runs answered at once over three shards spread across the cut (first, middle, last;
 *     at 100,000 nodes, S = 2: each shard once; CPU: the median, of two the higher), then one at
 *     10 ms a call under the adapters' configured concurrency
 *     (wall: it contains the SDK's CPU, on the one thread a 1,769 MB Lambda has a vCPU for). Its
 *     requests are charged by the capacity meter (bench/capacity/);
 *   - every shard counted without the SDK (planner-world.ts), checked against each shard run, for
 *     the fleet's calls, messages and units: the shards of a cut are alike (the fleet is uniform), so
 *     a few runs stand for the rest, and the totals need not stand on them.
 *
 * Beside it, the old design's price for the same fleet (one conditional claim per planned node), and
 * the coordinators' fan-out (SendMessageBatch of shard tasks against an async Lambda Invoke per
 * shard), from the SDK's CPU per call (sdk-request-cpu.ts).
 */
import { readNodeItem } from '#shared/domain/node.ts';
import { planNode } from '#shared/domain/plan.ts';
import { withPlanHistory } from '#shared/domain/segment-plan.ts';
import type { PlanTask } from '#shared/domain/shard-task.ts';
import { planShard, type PlanShardResult } from '#shared/usecases/plan-shard.ts';
import { startPlan, type StartPlanResult } from '#shared/usecases/start-plan.ts';
import { writeUnits } from '../capacity/meter.ts';
import { CapacityLedger, emptyTally, type CapacityTally } from '../capacity/tally.ts';
import { PRICES } from '../pricing.ts';
import { PLAN_HEAD, PLAN_INTERVAL, QUEUE, type PlannerFleetKind } from './fleet.ts';
import { PLANNED_AT, PlannerWorld, RULES, type PlannerFleet, type ShardCount } from './planner-world.ts';
import { measureSdkRequestCpu, type SdkRequestCpu } from './sdk-request-cpu.ts';
import { costPerMillion, gbSeconds, type CostPerMillion, type IntervalUsage } from './sharded-cost.ts';
import { medianByCpu, round, sampleShards, sum, timed, type Run } from './shard-run.ts';

const LATENCY_MS = 10;
/** Shard runs answered at once: three spread over a cut of many shards, each of two shards once. */
const CPU_RUNS = 3;
const HALF_INTERVAL_MS = 30_000;
const SEND_ENTRIES = 10;

export interface ShardFigures {
  /** The shard of the 10 ms run (and of the units), its nodes and segments. */
  readonly shard: number;
  readonly nodes: number;
  readonly segments: number;
  /** The shards the CPU runs planned, and each run's CPU. */
  readonly cpuShards: readonly number[];
  readonly cpuRunsMs: readonly number[];
  /** CPU of a shard answered at once, the SDK's included, the fake endpoint's left out: the median run. */
  readonly cpuMs: number;
  /** What the fake endpoint spent answering that run (left out of cpuMs). */
  readonly serverCpuMs: number;
  /** The decisions alone: read every item, apply its history, plan it (no adapters, no SDK). */
  readonly pureCpuMs: number;
  readonly latencyMs: number;
  /** Wall time of the shard with every call taking latencyMs, the SDK's CPU in it. */
  readonly wallMs: number;
  readonly wallCpuMs: number;
  readonly shareOfHalfInterval: number;
  readonly calls: Readonly<Record<string, number>>;
  readonly callsPerNode: Readonly<Record<string, number>>;
  readonly totalCallsPerNode: number;
  readonly messages: number;
  readonly sendMessageBatchCalls: number;
  /** ceil(messages / 10): the fewest calls that can carry the tokens. */
  readonly minimumSendCalls: number;
  readonly records: number;
  /** The largest plan record as DynamoDB sizes it, its gzip'd entries, and its write units. */
  readonly largestRecordBytes: number;
  readonly largestEntriesBytes: number;
  readonly largestRecordWriteUnits: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  /** Billable SQS requests of the tokens (one per started 64 KB of a call). */
  readonly sqsRequests: number;
  readonly heapGrowthMb: number;
}

export interface CoordinatorFigures {
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly calls: Readonly<Record<string, number>>;
  readonly readUnits: number;
  readonly writeUnits: number;
  /** Billable requests of the task queue: ceil(S / 10) SendMessageBatch calls. */
  readonly taskRequests: number;
}

export interface FleetFigures {
  readonly nodes: number;
  readonly kind: PlannerFleetKind;
  readonly idLength: number;
  /** S and B of the cut. */
  readonly shards: number;
  readonly segments: number;
  readonly nodesPerShard: { readonly min: number; readonly max: number };
  readonly coordinator: CoordinatorFigures;
  readonly shard: ShardFigures;
  /** Every shard, counted (planner-world.ts), and the coordinator: one interval of the whole fleet. */
  readonly fleet: {
    readonly shardsCounted: number;
    readonly nodesPlanned: number;
    readonly messages: number;
    readonly sendMessageBatchCalls: number;
    readonly calls: Readonly<Record<string, number>>;
    readonly totalCalls: number;
    /** Every SDK call of the interval (coordinator and shards) per planned node. */
    readonly callsPerPlannedNode: number;
    readonly readUnits: number;
    readonly writeUnits: number;
    readonly sqsRequests: number;
    /** Σ of the shards' durations at 10 ms a call, each the measured shard's scaled by its nodes (s). */
    readonly shardSeconds: number;
  };
  /** The same fleet the old way: one conditional claim per planned node instead of the plan records. */
  readonly oldDesign: {
    readonly claims: number;
    readonly callsPerPlannedNode: number;
    /** The claims' SDK CPU alone, at the measured CPU of one claim. */
    readonly claimSdkCpuMs: number;
    readonly claimWriteUnits: number;
  };
  /** Planner, coordinator and plan records, per million node-intervals. */
  readonly cost: CostPerMillion;
}

export interface PlannerResult {
  readonly nodes1M: { readonly steady: FleetFigures; readonly catchUp: FleetFigures };
  readonly nodes100k: { readonly steady: FleetFigures; readonly catchUp: FleetFigures };
  /** One shard of 1,000,000 nodes with 64-character ids, steady state: the plan records at their largest. */
  readonly longIds: ShardFigures;
  readonly sdkRequestCpuUs: SdkRequestCpu;
  /** The coordinators' fan-out: µs of SDK CPU per shard task, and the calls for the 1M cut. */
  readonly fanOut: {
    readonly sendMessageBatchUsPerTask: number;
    readonly lambdaInvokeUsPerTask: number;
    readonly invokeOverBatch: number;
    readonly shards: number;
    readonly sendMessageBatchCalls: number;
    readonly invokeCalls: number;
  };
  /** The old design's claims alone, per million node-intervals: 1 write unit each. */
  readonly oldClaimsCostPerMillion: number;
}

const perNode = (calls: Readonly<Record<string, number>>, nodes: number): Record<string, number> =>
  Object.fromEntries(Object.entries(calls).map(([call, count]) => [call, round(count / nodes, 4)]));

function sameCalls(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((key) => (a[key] ?? 0) === (b[key] ?? 0));
}

/** A shard counted must make exactly the calls and tokens its run made: else the fleet totals would be wrong. */
function check(count: ShardCount, run: Run<PlanShardResult>, tally?: CapacityTally): void {
  const problems: string[] = [];
  if (!sameCalls(count.calls, run.calls)) problems.push(`calls ${JSON.stringify(count.calls)} counted, ${JSON.stringify(run.calls)} made`);
  if (count.tokens !== run.result.totals.microbatches) problems.push(`${count.tokens} tokens counted, ${run.result.totals.microbatches} sent`);
  if (tally !== undefined && (tally.readUnits !== count.readUnits || tally.writeUnits !== count.writeUnits)) {
    problems.push(`units ${count.readUnits} R / ${count.writeUnits} W counted, ${tally.readUnits} R / ${tally.writeUnits} W metered`);
  }
  if (problems.length > 0) throw new Error(`planner shard ${count.shard}: the count disagrees with the run: ${problems.join('; ')}`);
}

async function runShard(world: PlannerWorld, task: PlanTask): Promise<Run<PlanShardResult>> {
  await world.prepareShard(task.shard);
  world.resetShard(task.shard);
  world.fake.sqs.resetStats(QUEUE.microbatch);
  return timed(world.fake, () => planShard(task, world.planShardDeps()));
}

/** CPU of the decisions alone over a shard's nodes, generated beforehand; and the tokens they make. */
function decisions(world: PlannerWorld, shard: number): { readonly cpuMs: number; readonly tokens: number } {
  const nodes = world.nodesOf(shard);
  const plannedAt = PLANNED_AT.toISOString();
  const started = process.cpuUsage();
  let tokens = 0;
  for (const { item, entry } of nodes) {
    const read = readNodeItem(item);
    if (!('node' in read)) continue;
    const decision = planNode(withPlanHistory(read.node, { entry, interval: PLAN_INTERVAL - 1 }), PLAN_HEAD, PLAN_INTERVAL, plannedAt, RULES);
    if (decision.kind === 'plan') tokens += decision.microbatches.length;
  }
  const used = process.cpuUsage(started);
  return { cpuMs: round((used.user + used.system) / 1000), tokens };
}

/** The pure decisions' CPU over `shard`, which must make the tokens its run sent. */
function pureCpuMs(world: PlannerWorld, shard: number, messages: number): number {
  const { cpuMs, tokens } = decisions(world, shard);
  if (tokens !== messages) throw new Error(`planner shard ${shard}: the decisions alone make ${tokens} tokens, the run sent ${messages}`);
  return cpuMs;
}

/**
 * One shard's figures: the CPU of the runs answered at once (their median), and the calls, wall,
 * tokens, records and units of `slow`, the run at `latencyMs` a call (the only run, for one answered at once).
 */
function shardFigures(
  world: PlannerWorld,
  at: { readonly shard: number; readonly segments: number; readonly latencyMs: number },
  cpuShards: readonly number[],
  cpuRuns: readonly Run<PlanShardResult>[],
  slow: Run<PlanShardResult>,
  units: { readonly readUnits: number; readonly writeUnits: number },
): ShardFigures {
  const median = medianByCpu(cpuRuns);
  const nodes = world.shardNodes(at.shard);
  const messages = slow.result.totals.microbatches;
  const sends = slow.calls['SQS.SendMessageBatch'] ?? 0;
  const sqsRequests = world.fake.sqs.stats(QUEUE.microbatch).billableRequests;
  if (sqsRequests !== sends) throw new Error(`planner shard ${at.shard}: ${sends} SendMessageBatch calls billed as ${sqsRequests} requests: a call passed 64 KB`);
  const records = world.recordsWritten();
  const largest = records.reduce((best, record) => (record.bytes > best.bytes ? record : best), { bytes: 0, entriesBytes: 0 });
  return {
    ...at,
    nodes,
    cpuShards,
    cpuRunsMs: cpuRuns.map((run) => run.cpuMs),
    cpuMs: median.cpuMs,
    serverCpuMs: median.serverCpuMs,
    pureCpuMs: pureCpuMs(world, at.shard, messages),
    wallMs: slow.wallMs,
    wallCpuMs: slow.cpuMs,
    shareOfHalfInterval: round(slow.wallMs / HALF_INTERVAL_MS, 3),
    calls: slow.calls,
    callsPerNode: perNode(slow.calls, nodes),
    totalCallsPerNode: round(sum(Object.values(slow.calls)) / nodes, 4),
    messages,
    sendMessageBatchCalls: sends,
    minimumSendCalls: Math.ceil(messages / SEND_ENTRIES),
    records: records.length,
    largestRecordBytes: largest.bytes,
    largestEntriesBytes: largest.entriesBytes,
    largestRecordWriteUnits: writeUnits(largest.bytes),
    readUnits: units.readUnits,
    writeUnits: units.writeUnits,
    sqsRequests,
    heapGrowthMb: slow.heapGrowthMb,
  };
}

async function measureCoordinator(world: PlannerWorld, ledger: CapacityLedger): Promise<{ figures: CoordinatorFigures; tasks: PlanTask[] }> {
  const run = async (): Promise<Run<StartPlanResult>> => {
    world.resetHeader();
    world.takeTasks();
    return timed(world.fake, () => startPlan({ scheduledTime: PLANNED_AT }, world.startPlanDeps()));
  };
  const instant: Run<StartPlanResult>[] = [];
  for (let index = 0; index < CPU_RUNS; index += 1) instant.push(await run());
  world.fake.latencyMs = LATENCY_MS;
  world.fake.recording = true;
  world.fake.sqs.resetStats(QUEUE.planTasks);
  const slow = await run();
  world.fake.recording = false;
  world.fake.latencyMs = 0;
  const tally = ledger.charge(world.fake.takeExchanges());
  const tasks = world.takeTasks();
  return {
    figures: { cpuMs: medianByCpu(instant).cpuMs, wallMs: slow.wallMs, calls: slow.calls, readUnits: tally.readUnits, writeUnits: tally.writeUnits, taskRequests: world.fake.sqs.stats(QUEUE.planTasks).billableRequests },
    tasks,
  };
}

async function measureFleet(fleet: PlannerFleet, sdk: SdkRequestCpu, progress: (line: string) => void): Promise<FleetFigures> {
  const label = `planner ${fleet.nodes.toLocaleString('en-US')} ${fleet.kind}`;
  const world = new PlannerWorld(fleet);
  try {
    await world.setUp();
    const ledger = new CapacityLedger();
    const { figures: coordinator, tasks } = await measureCoordinator(world, ledger);
    const { shards, segments } = world.cut;
    const taskOf = (shard: number): PlanTask => {
      const task = tasks.find((candidate) => candidate.shard === shard);
      if (task === undefined) throw new Error(`the coordinator sent no task for shard ${shard}`);
      return task;
    };
    // The shard of the 10 ms run goes last, so it is still prepared for it.
    const cpuShards = sampleShards(shards, Math.min(CPU_RUNS, shards)).reverse();
    progress(`${label}: S = ${shards}, B = ${segments}; coordinator ${coordinator.cpuMs} ms CPU; shards ${cpuShards.join(', ')} answered at once…`);
    const wallShard = cpuShards.at(-1) ?? 0;
    const cpuRuns: Run<PlanShardResult>[] = [];
    const headerUnits = (): number => writeUnits(world.headerBytes());
    for (const shard of cpuShards) cpuRuns.push(await runShard(world, taskOf(shard)));
    progress(`${label}: shard CPU ${cpuRuns.map((run) => run.cpuMs).join(' / ')} ms; now shard ${wallShard} at ${LATENCY_MS} ms a call…`);
    world.fake.latencyMs = LATENCY_MS;
    world.fake.recording = true;
    const slow = await runShard(world, taskOf(wallShard));
    world.fake.recording = false;
    world.fake.latencyMs = 0;
    const tally = ledger.charge(world.fake.takeExchanges(), emptyTally());
    const counts: ShardCount[] = [];
    for (let shard = 0; shard < shards; shard += 1) counts.push(await world.count(shard, headerUnits()));
    const countOf = (shard: number): ShardCount => {
      const count = counts[shard];
      if (count === undefined) throw new Error(`no count of shard ${shard}`);
      return count;
    };
    cpuRuns.forEach((run, index) => {
      check(countOf(cpuShards[index] ?? 0), run);
    });
    const wallCount = countOf(wallShard);
    check(wallCount, slow, tally);
    const shard = shardFigures(world, { shard: wallShard, segments: wallCount.segments, latencyMs: LATENCY_MS }, cpuShards, cpuRuns, slow, tally);
    const nodes = shard.nodes;
    progress(`${label}: shard ${wallShard} ${slow.wallMs} ms wall at ${LATENCY_MS} ms a call (${slow.cpuMs} ms CPU), ${shard.totalCallsPerNode} calls a node`);

    const calls: Record<string, number> = { ...coordinator.calls };
    for (const count of counts) for (const [call, made] of Object.entries(count.calls)) calls[call] = (calls[call] ?? 0) + made;
    const shardSends = sum(counts.map((count) => count.calls['SQS.SendMessageBatch'] ?? 0));
    const nodesPlanned = sum(counts.map((count) => count.nodes));
    const totalCalls = sum(Object.values(calls));
    const shardSeconds = sum(counts.map((count) => (slow.wallMs * count.nodes) / nodes)) / 1000;
    const usage: IntervalUsage = {
      nodes: fleet.nodes,
      readUnits: coordinator.readUnits + sum(counts.map((count) => count.readUnits)),
      writeUnits: coordinator.writeUnits + sum(counts.map((count) => count.writeUnits)),
      fifoRequests: shardSends,
      standardRequests: coordinator.taskRequests,
      lambdaRequests: 1 + shards,
      lambdaGbSeconds: gbSeconds('planner', coordinator.wallMs) + sum(counts.map((count) => gbSeconds('plannerShard', (slow.wallMs * count.nodes) / nodes))),
    };
    const scans = sum(counts.map((count) => count.calls['DynamoDB.Scan'] ?? 0));
    return {
      nodes: fleet.nodes,
      kind: fleet.kind,
      idLength: fleet.idLength,
      shards,
      segments,
      nodesPerShard: { min: Math.min(...counts.map((count) => count.nodes)), max: Math.max(...counts.map((count) => count.nodes)) },
      coordinator,
      shard,
      fleet: {
        shardsCounted: counts.length,
        nodesPlanned,
        messages: sum(counts.map((count) => count.tokens)),
        sendMessageBatchCalls: shardSends,
        calls,
        totalCalls,
        callsPerPlannedNode: round(totalCalls / nodesPlanned, 4),
        readUnits: usage.readUnits,
        writeUnits: usage.writeUnits,
        sqsRequests: shardSends + coordinator.taskRequests,
        shardSeconds: round(shardSeconds, 1),
      },
      oldDesign: {
        claims: nodesPlanned,
        callsPerPlannedNode: round((nodesPlanned + shardSends + scans) / nodesPlanned, 4),
        claimSdkCpuMs: Math.round((nodesPlanned * sdk.conditionalUpdateUs) / 1000),
        claimWriteUnits: nodesPlanned,
      },
      cost: costPerMillion(usage),
    };
  } finally {
    world.destroy();
  }
}

/** One shard of the 1,000,000-node steady fleet with 64-character ids, answered at once: the plan records at their largest. */
async function measureLongIds(progress: (line: string) => void): Promise<ShardFigures> {
  const world = new PlannerWorld({ nodes: 1_000_000, kind: 'steady', idLength: 64 });
  try {
    await world.setUp();
    await startPlan({ scheduledTime: PLANNED_AT }, world.startPlanDeps());
    const task = world.takeTasks().find((candidate) => candidate.shard === 0);
    if (task === undefined) throw new Error('the coordinator sent no task for shard 0');
    const run = await runShard(world, task);
    const count = await world.count(0, writeUnits(world.headerBytes()));
    check(count, run);
    const shard = shardFigures(world, { shard: 0, segments: count.segments, latencyMs: 0 }, [0], [run], run, count);
    progress(`planner 64-character ids: largest plan record ${shard.largestRecordBytes.toLocaleString('en-US')} B (${shard.largestEntriesBytes.toLocaleString('en-US')} B of gzip'd entries)`);
    return shard;
  } finally {
    world.destroy();
  }
}

export async function measurePlanner(progress: (line: string) => void): Promise<PlannerResult> {
  progress('planner: the SDK’s CPU per call (claim, token batch, task batch, Lambda Invoke)…');
  const sdk = await measureSdkRequestCpu(1_000);
  progress(`planner: claim ${sdk.conditionalUpdateUs} µs, token batch ${sdk.sendMessageBatchUs} µs, task batch ${sdk.taskBatchUs} µs, Invoke ${sdk.lambdaInvokeUs} µs`);
  const fleet = async (nodes: number, kind: PlannerFleetKind): Promise<FleetFigures> => measureFleet({ nodes, kind, idLength: 11 }, sdk, progress);
  const nodes1M = { steady: await fleet(1_000_000, 'steady'), catchUp: await fleet(1_000_000, 'catchUp') };
  const nodes100k = { steady: await fleet(100_000, 'steady'), catchUp: await fleet(100_000, 'catchUp') };
  const longIds = await measureLongIds(progress);
  const shards = nodes1M.steady.shards;
  const sendMessageBatchUsPerTask = round(sdk.taskBatchUs / SEND_ENTRIES, 1);
  return {
    nodes1M,
    nodes100k,
    longIds,
    sdkRequestCpuUs: sdk,
    fanOut: {
      sendMessageBatchUsPerTask,
      lambdaInvokeUsPerTask: sdk.lambdaInvokeUs,
      invokeOverBatch: round(sdk.lambdaInvokeUs / sendMessageBatchUsPerTask, 1),
      shards,
      sendMessageBatchCalls: Math.ceil(shards / SEND_ENTRIES),
      invokeCalls: shards,
    },
    oldClaimsCostPerMillion: Number((1e6 * PRICES.dynamodb.perWriteRequestUnit).toFixed(4)),
  };
}
