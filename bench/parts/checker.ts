/**
 * The checker at fleet scale: 10,000 and 100,000 nodes with 64-character ids in the in-memory
 * ports, every port call delayed as DynamoDB would answer it (10 ms a round trip), judged against
 * 60 open intervals. Prints the wall time and the heap the check added at its peak, and the ratios
 * between the two fleets measured in this one run: bounded memory shows as a heap ratio near 1
 * while the fleet grows tenfold. The live heap is sampled after a garbage collection at every
 * page, in a second run, so the collections do not count in the wall time.
 *
 *   npm run bench:checker [-- --latency-ms 10 --page 4000]
 *
 * The latency model follows the adapters: a Scan page is one call (4,000 nodes of ~250 bytes fill
 * its 1 MB); readChains is ceil(seqs / 100) BatchGetItem calls, 16 in flight; every other port call
 * is one call. The in-memory ports do the work itself in microseconds, so the wall time is the
 * checker's own: its CPU, plus the round trips it waits for in turn.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { intervalStart } from '#shared/domain/interval.ts';
import { MAX_ENTRIES_PER_APPEND, type NodePage } from '#shared/domain/ports.ts';
import type { ChainLink, LogEntry } from '#shared/domain/types.ts';
import { chainEntries } from '#shared/usecases/append-updates.ts';
import { checkConvergence, type CheckConvergenceDeps } from '#shared/usecases/check-convergence.ts';
import { seededRandom } from '../../local/random.ts';
import { InMemoryConvergenceStore, InMemoryLog, InMemoryNodeRepository } from '../../test/support/in-memory.ts';

const STREAM = 'main';
const T = 60;
const K = 29_447_718;
const OPEN_INTERVALS = 60;
const LOG_LENGTH = 10_000;
/** BatchGetItem's keys per call, and the adapter's calls in flight (shared/adapters/dynamodb/log-store.ts). */
const BATCH_GET_KEYS = 100;
const BATCH_GET_CONCURRENCY = 16;

const { values: args } = parseArgs({
  options: { 'latency-ms': { type: 'string', default: '10' }, page: { type: 'string', default: '4000' } },
});
const latencyMs = Number(args['latency-ms']);
const pageSize = Number(args.page);

interface Measurement {
  readonly nodes: number;
  readonly wallMs: number;
  /** The most live heap the check held at a page boundary, above the heap with the world built (MB). */
  readonly heapMb: number;
  readonly scanPages: number;
  readonly batchGetCalls: number;
  readonly converged: number;
}

/** The log, 60 plan headers with heads 100 apart up to the head, and `count` nodes spread over the last 7,000 seqs. */
async function buildWorld(count: number): Promise<{ log: InMemoryLog; nodes: InMemoryNodeRepository; convergence: InMemoryConvergenceStore }> {
  const log = new InMemoryLog();
  const producedAt = intervalStart(K - OPEN_INTERVALS - 1, T).toISOString();
  const updates = Array.from({ length: LOG_LENGTH }, (_, i) => ({ key: `key-${i % 1_000}`, op: 'put' as const, value: { n: i } }));
  const entries: LogEntry[] = chainEntries({ head: 0, headChain: GENESIS_CHAIN }, updates, producedAt);
  for (let start = 0; start < entries.length; start += MAX_ENTRIES_PER_APPEND) {
    const headChain = start === 0 ? GENESIS_CHAIN : (entries[start - 1]?.chain ?? GENESIS_CHAIN);
    await log.append(STREAM, { head: start, headChain }, entries.slice(start, start + MAX_ENTRIES_PER_APPEND), producedAt);
  }
  const convergence = new InMemoryConvergenceStore();
  for (let i = 1; i <= OPEN_INTERVALS; i += 1) {
    const head = LOG_LENGTH - (OPEN_INTERVALS - i) * 100;
    await convergence.putPlanHeader(
      { stream: STREAM, interval: K - OPEN_INTERVALS - 1 + i, head, headChain: entries[head - 1]?.chain ?? GENESIS_CHAIN, plannedAt: producedAt },
      2_000_000_000,
    );
  }
  const nodes = new InMemoryNodeRepository(pageSize);
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
  return { log, nodes, convergence };
}

/** Every method of `port` answers `latencyMs` later, as one DynamoDB round trip would. */
function slow<T extends object>(port: T): T {
  return new Proxy(port, {
    get: (target, property, receiver): unknown => {
      const member: unknown = Reflect.get(target, property, receiver);
      if (typeof member !== 'function') return member;
      return async (...callArgs: unknown[]): Promise<unknown> => {
        await delay(latencyMs);
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
        await delay(Math.ceil(calls / BATCH_GET_CONCURRENCY) * latencyMs);
        const links = await world.log.readChains(stream, seqs);
        probe();
        return links;
      },
    },
    nodes: {
      async *scanActive(): AsyncGenerator<NodePage, void, undefined> {
        for await (const page of world.nodes.scanActive()) {
          await delay(latencyMs);
          scanPages += 1;
          yield page;
        }
      },
    },
    convergence: slow(world.convergence),
  };
  const started = performance.now();
  const result = await checkConvergence({ interval: K, now: intervalStart(K, T) }, deps);
  const wallMs = performance.now() - started;
  probe();
  return { nodes: count, wallMs, liveHeapBytes, scanPages, batchGetCalls, converged: result.evaluated.filter((verdict) => verdict.converged).length };
}

async function measure(count: number): Promise<Measurement> {
  const timed = await run(count, false);
  const probed = await run(count, true);
  return { ...timed, heapMb: probed.liveHeapBytes / 2 ** 20 };
}

if (globalThis.gc === undefined) throw new Error('run with node --expose-gc (npm run bench:checker does): the heap is measured after collecting garbage');
console.log(`checker, ${OPEN_INTERVALS} open intervals, ${latencyMs} ms per call, Scan pages of ${pageSize} nodes`);
const small = await measure(10_000);
const large = await measure(100_000);
console.table(
  [small, large].map((m) => ({
    nodes: m.nodes,
    'wall time (s)': (m.wallMs / 1000).toFixed(2),
    'peak live heap added (MB)': m.heapMb.toFixed(1),
    'Scan pages': m.scanPages,
    'BatchGetItem calls': m.batchGetCalls,
    'intervals converged': m.converged,
  })),
);
console.log(
  `10× the nodes: ${(large.wallMs / small.wallMs).toFixed(1)}× the wall time, ${(large.heapMb / small.heapMb).toFixed(1)}× the peak heap; ` +
    `${large.wallMs < (T / 2) * 1000 ? 'within' : 'OVER'} half an interval (${T / 2} s) at 100,000 nodes`,
);
