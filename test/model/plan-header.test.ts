/**
 * The plan header must carry the head the plans of its interval were made against (issue 7 §5):
 * the checker judges interval k against H_k, so a header whose head no plan of k used turns work
 * that was complete into "not converged".
 */
import { describe, expect, it } from 'vitest';
import { intervalStart } from '#shared/domain/interval.ts';
import type { NewUpdate } from '#shared/domain/types.ts';
import { appendUpdates } from '#shared/usecases/append-updates.ts';
import { registerNode } from '#shared/usecases/register-node.ts';
import { createInMemoryPorts, FaultPlan, InjectedCrash } from '#test/support/in-memory.ts';
import { planTick, tickDeps } from '#test/support/sharded-runs.ts';

const STREAM = 'main';
const K = 29_447_718;

function puts(count: number): NewUpdate[] {
  return Array.from({ length: count }, (_, index) => ({ key: `key-${index % 5}`, op: 'put' as const, value: index }));
}

describe('the plan header', () => {
  it.each(['before', 'after'] as const)(
    'holds the head the plans were made against when a planner run crashes %s writing it and is retried after more ingest',
    async (when) => {
      // Prepare: one node with a share (6,000) far above the backlog; 50 updates in the log.
      const ports = createInMemoryPorts();
      const { log, nodes, convergence, ledger } = ports;
      await registerNode({ nodeId: 'n-1', rate: 100 }, { nodes });
      const now = intervalStart(K, 60);
      const ingest = (count: number): Promise<unknown> => appendUpdates({ updates: puts(count) }, { stream: STREAM, log, now: () => now, sleep: async () => {}, random: Math.random });
      await ingest(50);
      const faults = new FaultPlan().crash('planner.convergence.putPlanHeader', 1, when);
      const deps = tickDeps(ports, { stream: STREAM, intervalSeconds: 60, batchSize: 100 }).plan;
      const crashing = { ...deps, start: { ...deps.start, convergence: faults.wrap('planner.convergence', convergence) } };

      // Act: the first run crashes; producers append 30 more; Lambda retries the same interval.
      await expect(planTick({ scheduledTime: now }, crashing)).rejects.toBeInstanceOf(InjectedCrash);
      await ingest(30);
      await planTick({ scheduledTime: now }, crashing);

      // Assess: whatever the node was planned up to in interval k, the header of k says that head.
      const [header] = await convergence.recent(STREAM, K, 1);
      const [record] = ledger.committed;
      expect(header?.interval).toBe(K);
      expect(record?.interval).toBe(K);
      expect(header?.head).toBe(record?.entries.find((entry) => entry.nodeId === 'n-1')?.plannedSeq);
    },
  );
});
