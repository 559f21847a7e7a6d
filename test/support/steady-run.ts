/**
 * One node under steady ingest, on the real use cases and the in-memory ports: each interval
 * ingests, runs the checker and the planner as the schedule would, and delivers the planned tokens
 * in order — except those `lost` says are acknowledged without being applied. The self-healing
 * tests (test/model/self-healing.test.ts) run it to show a lost token heals under ingest that
 * never stops.
 */
import { intervalStart } from '#shared/domain/interval.ts';
import { parseMicrobatch } from '#shared/domain/microbatch.ts';
import type { NewUpdate } from '#shared/domain/types.ts';
import { appendUpdates } from '#shared/usecases/append-updates.ts';
import { applyMicrobatch } from '#shared/usecases/apply-microbatch.ts';
import { registerNode } from '#shared/usecases/register-node.ts';
import { createInMemoryPorts } from '#test/support/in-memory.ts';
import { checkTick, planTick, tickDeps } from '#test/support/sharded-runs.ts';
import { seededRandom } from '#local/random.ts';

const STREAM = 'main';
/** The interval index before the run's first. */
const FIRST = 29_447_718;

export interface SteadyRun {
  readonly rate: number;
  readonly intervalSeconds: number;
  readonly batchSize: number;
  readonly intervals: number;
  /** Updates ingested in interval i (from 1). */
  readonly ingest: (interval: number) => number;
  /** Whether the n-th message (from 0) sent in interval i is lost: acknowledged, never applied. */
  readonly lost: (interval: number, nth: number) => boolean;
}

/** Per interval i (from 1): the node's lag after the interval's deliveries, and the checker's verdict on i. */
export async function runSteady(run: SteadyRun): Promise<{ lags: number[]; converged: (boolean | undefined)[] }> {
  const ports = createInMemoryPorts();
  const { log, nodes, replica, convergence, queue } = ports;
  const deps = tickDeps(ports, { stream: STREAM, intervalSeconds: run.intervalSeconds, batchSize: run.batchSize, maxInFlightIntervals: 2, staleAfterIntervals: 3, openIntervals: 100 });
  await registerNode({ nodeId: 'n-1', rate: run.rate }, { nodes });
  const random = seededRandom(7);
  const lags: number[] = [];
  const converged: (boolean | undefined)[] = [];
  let taken = 0;
  let serial = 0;
  for (let i = 1; i <= run.intervals; i += 1) {
    const k = FIRST + i;
    const now = intervalStart(k, run.intervalSeconds);
    const updates: NewUpdate[] = Array.from({ length: run.ingest(i) }, () => ({ key: `key-${(serial += 1) % 7}`, op: 'put' as const, value: serial }));
    if (updates.length > 0) await appendUpdates({ updates }, { stream: STREAM, log, now: () => now, sleep: async () => {}, random });
    await checkTick({ now }, deps.check);
    await planTick({ scheduledTime: now }, deps.plan);
    const fresh = queue.messages.slice(taken);
    taken += fresh.length;
    for (const [nth, message] of fresh.entries()) {
      if (run.lost(i, nth)) continue;
      await applyMicrobatch(parseMicrobatch(message.body), { stream: STREAM, batchSize: run.batchSize, log, nodes, replica, now: () => now });
    }
    const head = (await log.readHead(STREAM)).head;
    lags.push(head - ((await nodes.get('n-1'))?.appliedSeq ?? 0));
    // The checker of the next tick judges interval i.
    await checkTick({ now: intervalStart(k + 1, run.intervalSeconds) }, deps.check);
    converged.push((await convergence.recent(STREAM, k, 1))[0]?.converged);
  }
  return { lags, converged };
}
