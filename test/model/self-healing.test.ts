/**
 * The reproductions behind the self-healing rule (issue 7, DESIGN §5 step 3, §6 step 3), on the real
 * use cases and the in-memory ports: ingest never stops, and a microbatch is lost once. Before the
 * rule, every tick re-claimed the node, the stale-plan rule never fired, and a token moved the
 * cursor by at most b toward its own `to`: the node stayed exactly one microbatch behind for good.
 */
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { SqsMicrobatchQueue } from '#shared/adapters/sqs/microbatch-queue.ts';
import { planNode } from '#shared/domain/plan.ts';
import { intervalStart } from '#shared/domain/interval.ts';
import { parseMicrobatch } from '#shared/domain/schemas.ts';
import type { NewUpdate } from '#shared/domain/types.ts';
import { appendUpdates } from '#shared/usecases/append-updates.ts';
import { applyMicrobatch } from '#shared/usecases/apply-microbatch.ts';
import { checkConvergence } from '#shared/usecases/check-convergence.ts';
import { planInterval } from '#shared/usecases/plan-interval.ts';
import { registerNode } from '#shared/usecases/register-node.ts';
import { createInMemoryPorts } from '#test/support/in-memory.ts';
import { seededRandom } from '../../local/random.ts';

const STREAM = 'main';
const FIRST = 29_447_718;

interface SteadyRun {
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
async function runSteady(run: SteadyRun): Promise<{ lags: number[]; converged: (boolean | undefined)[] }> {
  const ports = createInMemoryPorts();
  const { log, nodes, replica, convergence, queue } = ports;
  const rules = { stream: STREAM, intervalSeconds: run.intervalSeconds, batchSize: run.batchSize, maxInFlightIntervals: 2, staleAfterIntervals: 3 };
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
    await checkConvergence({ interval: k, now }, { stream: STREAM, intervalSeconds: run.intervalSeconds, openIntervals: 100, log, nodes, convergence });
    await planInterval({ interval: k, plannedAt: now }, { rules, retentionDays: 1, log, nodes, queue, convergence });
    const fresh = queue.messages.slice(taken);
    taken += fresh.length;
    for (const [nth, message] of fresh.entries()) {
      if (run.lost(i, nth)) continue;
      await applyMicrobatch(parseMicrobatch(message.body), { stream: STREAM, batchSize: run.batchSize, log, nodes, replica, now: () => now });
    }
    const head = (await log.readHead(STREAM)).head;
    lags.push(head - ((await nodes.get('n-1'))?.appliedSeq ?? 0));
    // The checker of the next tick judges interval i.
    await checkConvergence({ interval: k + 1, now: intervalStart(k + 1, run.intervalSeconds) }, { stream: STREAM, intervalSeconds: run.intervalSeconds, openIntervals: 100, log, nodes, convergence });
    converged.push((await convergence.recent(STREAM, k, 1))[0]?.converged);
  }
  return { lags, converged };
}

describe('self-healing under continuous ingest', () => {
  it('catches up after interval 2’s only microbatch is lost while 100 updates a minute keep coming (r = 10/s, t = 60, b = 100)', async () => {
    // Act
    const { lags, converged } = await runSteady({
      rate: 10,
      intervalSeconds: 60,
      batchSize: 100,
      intervals: 24,
      ingest: () => 100,
      lost: (interval) => interval === 2,
    });

    // Assess: F = 3 (the first fault-free interval), deficit 100, share 600, ingest 100: consistent
    // from F + staleAfterIntervals + ceil(100 / 500) + 1 = 8 at the latest, and at every interval after.
    expect(lags[1]).toBe(100);
    expect(lags.slice(7)).toEqual(Array.from({ length: 17 }, () => 0));
    expect(converged.slice(7)).toEqual(Array.from({ length: 17 }, () => true));
  });

  it('catches up after one microbatch of interval 2 is lost with b = 1 and ingest varying 3–13 per interval', async () => {
    const random = seededRandom(42);
    const ingest = Array.from({ length: 25 }, () => 3 + Math.floor(random() * 11));

    const { lags, converged } = await runSteady({
      rate: 10,
      intervalSeconds: 60,
      batchSize: 1,
      intervals: 24,
      ingest: (interval) => ingest[interval] ?? 0,
      lost: (interval, nth) => interval === 2 && nth === 0,
    });

    expect(lags[1]).toBeGreaterThan(0);
    expect(lags.slice(7)).toEqual(Array.from({ length: 17 }, () => 0));
    expect(converged.slice(7)).toEqual(Array.from({ length: 17 }, () => true));
  });
});

describe('a partly failed SendMessageBatch', () => {
  it('still brings the node to its target when entry 0 fails once and its retry lands last', async () => {
    // Prepare: a node with 600 to apply (share 600, b = 100): six tokens in one call.
    const { log, nodes, replica } = createInMemoryPorts();
    await registerNode({ nodeId: 'n-1', rate: 10 }, { nodes });
    const now = intervalStart(FIRST, 60);
    const updates: NewUpdate[] = Array.from({ length: 600 }, (_, i) => ({ key: `key-${i % 9}`, op: 'put' as const, value: i }));
    for (let offset = 0; offset < 600; offset += 99) {
      await appendUpdates({ updates: updates.slice(offset, offset + 99) }, { stream: STREAM, log, now: () => now, sleep: async () => {}, random: Math.random });
    }
    const node = await nodes.get('n-1');
    if (node === undefined) throw new Error('node missing');
    const plan = planNode(node, 600, FIRST, now.toISOString(), { stream: STREAM, intervalSeconds: 60, batchSize: 100, maxInFlightIntervals: 2, staleAfterIntervals: 3 });
    if (plan.kind !== 'plan') throw new Error(`expected a plan, got ${plan.reason}`);

    // SQS accepts entries 1–5, fails entry 0 with InternalError once; the retry is accepted last.
    const accepted: string[] = [];
    const sqs = mockClient(SQSClient);
    let calls = 0;
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      calls += 1;
      const entries = input.Entries ?? [];
      const failed = calls === 1 ? entries.filter((entry) => entry.Id === '0') : [];
      for (const entry of entries) if (!failed.includes(entry)) accepted.push(entry.MessageBody ?? '');
      return { Successful: [], Failed: failed.map((entry) => ({ Id: entry.Id, Code: 'InternalError', SenderFault: false })) };
    });

    // Act: send, then deliver in the order SQS accepted them.
    await new SqsMicrobatchQueue(new SQSClient({}), 'https://sqs.us-east-1.amazonaws.com/1/q.fifo', { sleep: async () => {} }).send(plan.microbatches);
    for (const body of accepted) {
      await applyMicrobatch(parseMicrobatch(body), { stream: STREAM, batchSize: 100, log, nodes, replica, now: () => now });
    }
    sqs.restore();

    // Assess
    expect(accepted).toHaveLength(6);
    expect(parseMicrobatch(accepted.at(-1) ?? '').index).toBe(0);
    expect((await nodes.get('n-1'))?.appliedSeq).toBe(600);
  });
});
