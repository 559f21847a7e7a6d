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
import { parseMicrobatch } from '#shared/domain/microbatch.ts';
import type { NewUpdate } from '#shared/domain/types.ts';
import { appendUpdates } from '#shared/usecases/append-updates.ts';
import { applyMicrobatch } from '#shared/usecases/apply-microbatch.ts';
import { registerNode } from '#shared/usecases/register-node.ts';
import { createInMemoryPorts } from '#test/support/in-memory.ts';
import { runSteady } from '#test/support/steady-run.ts';
import { seededRandom } from '#local/random.ts';

const STREAM = 'main';
const FIRST = 29_447_718;

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
