/**
 * Convergence against its lower bound: a node that may take ceil(r_i·t) updates an interval cannot
 * hold the head before interval ceil(lag_i / ceil(r_i·t)), so no plan converges a fleet before
 * max_i of that. Over generated fleets — backlogs, rates, batch sizes and intervals drawn from a
 * seed — the real planner (coordinator and shards), applier and checker (coordinator and shards)
 * use cases run interval after interval against the in-memory ports, each fleet cut into up to four
 * shards, every token delivered once, and the interval the checker first judges converged is divided
 * by that bound. 1.00 everywhere: the plan wastes no interval.
 */
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { DEFAULT_SETTINGS } from '#shared/domain/config.ts';
import { sharePerInterval } from '#shared/domain/formula.ts';
import { intervalStart } from '#shared/domain/interval.ts';
import { MAX_ENTRIES_PER_APPEND } from '#shared/domain/ports.ts';
import { parseMicrobatch } from '#shared/domain/microbatch.ts';
import type { LogEntry, NewUpdate } from '#shared/domain/types.ts';
import { applyMicrobatch } from '#shared/usecases/apply-microbatch.ts';
import { chainEntries } from '#shared/usecases/append-updates.ts';
import { seededRandom, type Random } from '#local/random.ts';
import { createInMemoryPorts } from '#test/support/in-memory.ts';
import { checkTick, planTick, tickDeps } from '#test/support/sharded-runs.ts';

const STREAM = 'main';
/** The first interval index of every case (any will do: the plans depend on differences). */
const K0 = 29_447_000;
const CASES = 120;
const SEED = 9;
/** A case that has not converged by this many intervals past its bound is a failure, not a wait. */
const SLACK_INTERVALS = 5;

export interface FleetCase {
  readonly intervalSeconds: number;
  readonly batchSize: number;
  /** The log's head: every node must reach it. */
  readonly head: number;
  /** Per node: its rate and its lag behind the head. */
  readonly nodes: readonly { readonly rate: number; readonly lag: number }[];
}

export interface ConvergenceResult {
  /** Intervals to converge over the bound, the worst case (1.00: every case converged at its bound). */
  readonly ratioToMinimum: number;
  readonly meanRatio: number;
  readonly cases: number;
  readonly casesAtMinimum: number;
  readonly nodes: number;
  readonly intervalsRun: number;
  /** The case furthest from its bound, for a person to re-run. */
  readonly worst: FleetCase & { readonly convergedAt: number | null; readonly minimum: number };
}

/** max_i ceil(lag_i / ceil(r_i·t)): the earliest interval the fleet can hold the head. */
export function minimumIntervals(fleet: FleetCase): number {
  return Math.max(1, ...fleet.nodes.map((node) => Math.ceil(node.lag / sharePerInterval(node.rate, fleet.intervalSeconds))));
}

/** A fleet of 1–8 nodes with lags up to the head and rates that converge within ~40 intervals. */
function generate(random: Random): FleetCase {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] ?? (values[0] as T);
  const intervalSeconds = pick([60, 120, 300]);
  const batchSize = pick([1, 10, 100, 250]);
  const head = 1 + Math.floor(random() * 3_000);
  const count = 1 + Math.floor(random() * 8);
  const nodes = Array.from({ length: count }, () => {
    const lag = Math.floor(random() * (head + 1));
    // Rates of 0.01–20 a second, but never so slow that the case takes more than ~40 intervals.
    const floor = lag / (40 * intervalSeconds);
    const rate = Math.max(floor, Math.round((0.01 + random() * 20) * 100) / 100);
    return { rate: Math.ceil(rate * 100) / 100, lag };
  });
  return { intervalSeconds, batchSize, head, nodes };
}

/** Runs one fleet through plan → deliver every token → check, interval after interval; @returns the first interval judged converged. */
export async function intervalsToConverge(fleet: FleetCase): Promise<{ readonly convergedAt: number | null; readonly intervals: number }> {
  const ports = createInMemoryPorts();
  const t = fleet.intervalSeconds;
  const producedAt = intervalStart(K0 - 1, t).toISOString();
  const updates: NewUpdate[] = Array.from({ length: fleet.head }, (_, index) => ({ key: `key-${index % 97}`, op: 'put', value: { n: index } }));
  const entries: LogEntry[] = chainEntries({ head: 0, headChain: GENESIS_CHAIN }, updates, producedAt);
  for (let start = 0; start < entries.length; start += MAX_ENTRIES_PER_APPEND) {
    const headChain = start === 0 ? GENESIS_CHAIN : (entries[start - 1]?.chain ?? GENESIS_CHAIN);
    await ports.log.append(STREAM, { head: start, headChain }, entries.slice(start, start + MAX_ENTRIES_PER_APPEND), producedAt);
  }
  fleet.nodes.forEach((node, index) => {
    const appliedSeq = fleet.head - node.lag;
    ports.nodes.putItem({
      nodeId: `node-${index + 1}`,
      rate: node.rate,
      status: 'active',
      appliedSeq,
      appliedChain: appliedSeq === 0 ? GENESIS_CHAIN : entries[appliedSeq - 1]?.chain,
      plannedSeq: appliedSeq,
    });
  });
  // Up to four shards over one segment per node: the sharded path however small the fleet.
  const deps = tickDeps(ports, {
    stream: STREAM,
    intervalSeconds: t,
    batchSize: fleet.batchSize,
    maxInFlightIntervals: DEFAULT_SETTINGS.maxInFlightIntervals,
    staleAfterIntervals: DEFAULT_SETTINGS.staleAfterIntervals,
    openIntervals: 1_000,
    sharding: { nodesPerShard: 2, nodesPerSegment: 1, shards: 0 },
  });
  const applier = { stream: STREAM, batchSize: fleet.batchSize, log: ports.log, nodes: ports.nodes, replica: ports.replica, now: () => new Date(producedAt) };
  let delivered = 0;
  const limit = minimumIntervals(fleet) + SLACK_INTERVALS;
  for (let j = 1; j <= limit; j += 1) {
    const k = K0 + j - 1;
    await planTick({ scheduledTime: intervalStart(k, t) }, deps.plan);
    const messages = ports.queue.messages;
    for (; delivered < messages.length; delivered += 1) {
      const message = messages[delivered];
      if (message !== undefined) await applyMicrobatch(parseMicrobatch(message.body), applier);
    }
    // The checker at the next tick judges interval k.
    const check = await checkTick({ now: intervalStart(k + 1, t) }, deps.check);
    if (check.merged?.evaluated.some((verdict) => verdict.interval === k && verdict.converged) === true) return { convergedAt: j, intervals: j };
  }
  return { convergedAt: null, intervals: limit };
}

export async function measureConvergence(progress: (line: string) => void): Promise<ConvergenceResult> {
  const random = seededRandom(SEED);
  let worst: ConvergenceResult['worst'] | undefined;
  let worstRatio = 0;
  let sum = 0;
  let atMinimum = 0;
  let nodes = 0;
  let intervalsRun = 0;
  for (let index = 0; index < CASES; index += 1) {
    const fleet = generate(random);
    const minimum = minimumIntervals(fleet);
    const { convergedAt, intervals } = await intervalsToConverge(fleet);
    const ratio = convergedAt === null ? Number.POSITIVE_INFINITY : convergedAt / minimum;
    sum += ratio;
    nodes += fleet.nodes.length;
    intervalsRun += intervals;
    if (ratio === 1) atMinimum += 1;
    if (worst === undefined || ratio > worstRatio) {
      worstRatio = ratio;
      worst = { ...fleet, convergedAt, minimum };
    }
    if ((index + 1) % 40 === 0) progress(`convergence: ${index + 1}/${CASES} fleets, ${atMinimum} at their bound`);
  }
  if (worst === undefined) throw new Error('no fleet was generated');
  return {
    ratioToMinimum: Number(worstRatio.toFixed(2)),
    meanRatio: Number((sum / CASES).toFixed(4)),
    cases: CASES,
    casesAtMinimum: atMinimum,
    nodes,
    intervalsRun,
    worst,
  };
}
