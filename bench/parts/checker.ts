/**
 * The checker at fleet scale: 10,000 and 100,000 nodes with 64-character ids in the in-memory
 * ports, every port call delayed as DynamoDB would answer it (10 ms a round trip), judged against
 * 60 open intervals. Measured in one run: the wall time and CPU of the check, the heap it added at
 * its peak (bounded memory shows as a heap ratio near 1 while the fleet grows tenfold), and the
 * size of the biggest verdict item as the DynamoDB adapter writes it (budget: 8 KB, far below the
 * 400 KB item limit). The live heap is sampled after a garbage collection at every page, in a
 * second run (only under `node --expose-gc`), so the collections do not count in the wall time.
 *
 * The latency model follows the adapters: a Scan page is one call (4,000 nodes of ~250 bytes fill
 * its 1 MB); readChains is ceil(seqs / 100) BatchGetItem calls, 16 in flight; every other port call
 * is one call. The in-memory ports do the work itself in microseconds, so the wall time is the
 * checker's own: its CPU, plus the round trips it waits for in turn.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoConvergenceStore } from '#shared/adapters/dynamodb/convergence-store.ts';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { intervalStart } from '#shared/domain/interval.ts';
import { MAX_ENTRIES_PER_APPEND, type NodePage } from '#shared/domain/ports.ts';
import type { ChainLink, IntervalVerdict, LogEntry, PlanHeader } from '#shared/domain/types.ts';
import { chainEntries } from '#shared/usecases/append-updates.ts';
import { checkConvergence, type CheckConvergenceDeps } from '#shared/usecases/check-convergence.ts';
import { seededRandom } from '#local/random.ts';
import { InMemoryConvergenceStore, InMemoryLog, InMemoryNodeRepository } from '#test/support/in-memory.ts';
import { itemBytes, toWireItem, toWireValue, type WireItem } from '../capacity/attribute-size.ts';
import { applyUpdateExpression } from '../capacity/update-expression.ts';

const STREAM = 'main';
const T = 60;
const K = 29_447_718;
const OPEN_INTERVALS = 60;
const LOG_LENGTH = 10_000;
/** BatchGetItem's keys per call, and the adapter's calls in flight (shared/adapters/dynamodb/log-store.ts). */
const BATCH_GET_KEYS = 100;
const BATCH_GET_CONCURRENCY = 16;

const LATENCY_MS = 10;
const EXPIRES_AT = 2_000_000_000;
/** Nodes per Scan page: 4,000 items of ~250 bytes fill a 1 MB page. */
const PAGE_SIZE = 4_000;

interface Measurement {
  readonly nodes: number;
  readonly wallMs: number;
  /** CPU the process spent during the check. */
  readonly cpuMs: number;
  /** The biggest verdict this check wrote, as a Convergence item by DynamoDB's size rule. */
  readonly verdictBytes: number;
  /** The most live heap the check held at a page boundary, above the heap with the world built (MB). */
  readonly heapMb: number;
  readonly scanPages: number;
  readonly batchGetCalls: number;
  readonly converged: number;
}

/** The log, 60 plan headers with heads 100 apart up to the head, and `count` nodes spread over the last 7,000 seqs. */
async function buildWorld(count: number): Promise<{ log: InMemoryLog; nodes: InMemoryNodeRepository; convergence: InMemoryConvergenceStore; headers: PlanHeader[] }> {
  const log = new InMemoryLog();
  const producedAt = intervalStart(K - OPEN_INTERVALS - 1, T).toISOString();
  const updates = Array.from({ length: LOG_LENGTH }, (_, i) => ({ key: `key-${i % 1_000}`, op: 'put' as const, value: { n: i } }));
  const entries: LogEntry[] = chainEntries({ head: 0, headChain: GENESIS_CHAIN }, updates, producedAt);
  for (let start = 0; start < entries.length; start += MAX_ENTRIES_PER_APPEND) {
    const headChain = start === 0 ? GENESIS_CHAIN : (entries[start - 1]?.chain ?? GENESIS_CHAIN);
    await log.append(STREAM, { head: start, headChain }, entries.slice(start, start + MAX_ENTRIES_PER_APPEND), producedAt);
  }
  const convergence = new InMemoryConvergenceStore();
  const headers: PlanHeader[] = [];
  for (let i = 1; i <= OPEN_INTERVALS; i += 1) {
    const head = LOG_LENGTH - (OPEN_INTERVALS - i) * 100;
    const header = { stream: STREAM, interval: K - OPEN_INTERVALS - 1 + i, head, headChain: entries[head - 1]?.chain ?? GENESIS_CHAIN, plannedAt: producedAt };
    headers.push(header);
    await convergence.putPlanHeader(header, EXPIRES_AT);
  }
  const nodes = new InMemoryNodeRepository(PAGE_SIZE);
  const random = seededRandom(count);
  for (let i = 0; i < count; i += 1) {
    const appliedSeq = LOG_LENGTH - Math.floor(random() * 7_000);
    // One node in a hundred holds data that differs from the log; rates of 1–3 updates a second.
    const broken = random() < 0.01;
    nodes.putItem({
      nodeId: `node-${String(i).padStart(59, '0')}`,
      rate: 1 + Math.floor(random() * 3),
      status: 'active',
      appliedSeq,
      appliedChain: broken ? 'f'.repeat(64) : entries[appliedSeq - 1]?.chain,
      plannedSeq: appliedSeq,
    });
  }
  return { log, nodes, convergence, headers };
}

/**
 * The Convergence item a verdict leaves, as the DynamoDB adapter writes it: the plan header, the
 * planner's totals, then the verdict — the adapter's own commands, captured and applied to a wire item.
 */
async function verdictItemBytes(header: PlanHeader, verdict: IntervalVerdict, nodes: number, checkedAt: string): Promise<number> {
  const sent: unknown[] = [];
  const capture = {
    send: (command: unknown): Promise<object> => {
      sent.push(command);
      return Promise.resolve({});
    },
  } as unknown as DynamoDBDocumentClient;
  const store = new DynamoConvergenceStore(capture, 'Convergence');
  await store.putPlanHeader(header, EXPIRES_AT);
  await store.addPlanTotals(STREAM, header.interval, { nodesPlanned: nodes, microbatches: nodes * 5 });
  await store.recordVerdict(STREAM, verdict, { checkedAt, readVersion: 0 });
  let item: WireItem = {};
  for (const command of sent) {
    if (command instanceof PutCommand) item = toWireItem(command.input.Item ?? {});
    else if (command instanceof UpdateCommand) {
      const { UpdateExpression = '', ExpressionAttributeNames = {}, ExpressionAttributeValues = {} } = command.input;
      const values = Object.fromEntries(Object.entries(ExpressionAttributeValues).map(([name, value]) => [name, toWireValue(value)]));
      item = applyUpdateExpression(item, UpdateExpression, { names: ExpressionAttributeNames, values });
    }
  }
  return itemBytes(item);
}

/** Every method of `port` answers LATENCY_MS later, as one DynamoDB round trip would. */
function slow<T extends object>(port: T): T {
  return new Proxy(port, {
    get: (target, property, receiver): unknown => {
      const member: unknown = Reflect.get(target, property, receiver);
      if (typeof member !== 'function') return member;
      return async (...callArgs: unknown[]): Promise<unknown> => {
        await delay(LATENCY_MS);
        return (member as (...a: unknown[]) => unknown).apply(target, callArgs);
      };
    },
  });
}

/**
 * One check of `count` nodes. With `probeHeap`, every page boundary collects garbage and samples the
 * live heap (what the check holds, not what it has allocated); those collections cost time, so the
 * wall time comes from a run without them.
 */
async function run(count: number, probeHeap: boolean): Promise<Omit<Measurement, 'heapMb'> & { readonly liveHeapBytes: number }> {
  const world = await buildWorld(count);
  let scanPages = 0;
  let batchGetCalls = 0;
  const gc = globalThis.gc;
  gc?.();
  const baseline = process.memoryUsage().heapUsed;
  let liveHeapBytes = 0;
  const probe = (): void => {
    if (!probeHeap || gc === undefined) return;
    gc();
    liveHeapBytes = Math.max(liveHeapBytes, process.memoryUsage().heapUsed - baseline);
  };
  const deps: CheckConvergenceDeps = {
    stream: STREAM,
    intervalSeconds: T,
    openIntervals: OPEN_INTERVALS,
    reportTopN: 10,
    log: {
      readHead: slow(world.log).readHead.bind(world.log),
      async readChains(stream: string, seqs: readonly number[]): Promise<Map<number, ChainLink>> {
        const calls = Math.ceil(new Set(seqs).size / BATCH_GET_KEYS);
        batchGetCalls += calls;
        await delay(Math.ceil(calls / BATCH_GET_CONCURRENCY) * LATENCY_MS);
        const links = await world.log.readChains(stream, seqs);
        probe();
        return links;
      },
    },
    nodes: {
      async *scanActive(): AsyncGenerator<NodePage, void, undefined> {
        for await (const page of world.nodes.scanActive()) {
          await delay(LATENCY_MS);
          scanPages += 1;
          yield page;
        }
      },
    },
    convergence: slow(world.convergence),
  };
  const started = performance.now();
  const cpu = process.cpuUsage();
  const result = await checkConvergence({ interval: K, now: intervalStart(K, T) }, deps);
  const used = process.cpuUsage(cpu);
  const wallMs = performance.now() - started;
  probe();
  const sizes = await Promise.all(
    result.evaluated.map((verdict) => {
      const header = world.headers.find((candidate) => candidate.interval === verdict.interval);
      return header === undefined ? Promise.resolve(0) : verdictItemBytes(header, verdict, count, intervalStart(K, T).toISOString());
    }),
  );
  return {
    nodes: count,
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
    verdictBytes: Math.max(0, ...sizes),
    liveHeapBytes,
    scanPages,
    batchGetCalls,
    converged: result.evaluated.filter((verdict) => verdict.converged).length,
  };
}

async function measure(count: number): Promise<Measurement> {
  const timed = await run(count, false);
  const probed = globalThis.gc === undefined ? undefined : await run(count, true);
  return { ...timed, heapMb: probed === undefined ? Number.NaN : probed.liveHeapBytes / 2 ** 20 };
}

export interface CheckerFigures {
  readonly nodes: number;
  readonly openIntervals: number;
  readonly latencyMs: number;
  readonly cpuMs: number;
  /** The check's wall time with every call taking `latencyMs`. */
  readonly simulatedWallMs: number;
  readonly verdictBytes: number;
  /** Peak live heap the check added (MB); null without `--expose-gc`. */
  readonly peakHeapMb: number | null;
  readonly scanPages: number;
  readonly batchGetCalls: number;
}

export interface CheckerResult {
  readonly nodes10k: CheckerFigures;
  readonly nodes100k: CheckerFigures;
  /** 100,000 nodes over 10,000, measured in this run: wall time and peak heap. */
  readonly tenfold: { readonly wall: number; readonly heap: number | null };
}

function figures(m: Measurement): CheckerFigures {
  const heap = Number.isNaN(m.heapMb) ? null : Number(m.heapMb.toFixed(1));
  return {
    nodes: m.nodes,
    openIntervals: OPEN_INTERVALS,
    latencyMs: LATENCY_MS,
    cpuMs: Math.round(m.cpuMs),
    simulatedWallMs: Math.round(m.wallMs),
    verdictBytes: m.verdictBytes,
    peakHeapMb: heap,
    scanPages: m.scanPages,
    batchGetCalls: m.batchGetCalls,
  };
}

/** The checker at 10,000 and 100,000 nodes, side by side. */
export async function measureChecker(progress: (line: string) => void): Promise<CheckerResult> {
  progress(`checker: 10,000 nodes, ${OPEN_INTERVALS} open intervals, ${LATENCY_MS} ms a call…`);
  const small = figures(await measure(10_000));
  progress(`checker: 10,000 nodes in ${small.simulatedWallMs} ms; now 100,000…`);
  const large = figures(await measure(100_000));
  progress(`checker: 100,000 nodes in ${large.simulatedWallMs} ms, ${large.cpuMs} ms CPU, verdict ${large.verdictBytes} bytes`);
  const ratio = (a: number, b: number): number => Number((a / b).toFixed(2));
  return {
    nodes10k: small,
    nodes100k: large,
    tenfold: {
      wall: ratio(large.simulatedWallMs, small.simulatedWallMs),
      heap: large.peakHeapMb === null || small.peakHeapMb === null ? null : ratio(large.peakHeapMb, small.peakHeapMb),
    },
  };
}
