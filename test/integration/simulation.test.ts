/**
 * Whole runs of the system — the real handlers on DynamoDB Local and fauxqs, driven on the simulated
 * clock — with and without faults. Each run gets its own tables and queues.
 */
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { inject, describe, expect, it } from 'vitest';
import { localSqsClient } from '#local/emulators.ts';
import { NO_FAULTS, parseFaults } from '#local/faults.ts';
import { runSimulation, type SimulationOptions } from '#local/simulation.ts';
import type { RunSummary } from '#local/summary.ts';

const endpoints = inject('emulators');

/** Three nodes, one of them slow; 180 updates per interval for two intervals. */
const SMALL: SimulationOptions = {
  scenario: 'default',
  nodes: 3,
  intervalSeconds: 60,
  batchSize: 100,
  ingestRate: 3,
  quietAfter: 2,
  keys: 50,
  seed: 7,
  faults: NO_FAULTS,
};

function expectCleanAudit(summary: RunSummary): void {
  expect(summary.audit).toMatchObject({ nodesChecked: summary.perNode.length, mismatched: 0, missing: 0, extra: 0 });
  expect(summary.audit.examples).toEqual([]);
}

function expectEveryNodeAtHead(summary: RunSummary): void {
  for (const node of summary.perNode) expect(node, node.nodeId).toMatchObject({ cursor: summary.updatesIngested, lag: 0 });
}

describe('a local run', () => {
  it('converges at the theoretical minimum with a clean audit when nothing goes wrong', async () => {
    // Act
    const { summary } = await runSimulation(SMALL, endpoints);

    // Assess
    expect(summary.converged).toBe(true);
    expect(summary.convergedAtInterval).toBe(summary.theoreticalMinIntervals);
    expect(summary.updatesIngested).toBe(2 * 180);
    expect(summary.microbatchesApplied).toBe(summary.microbatchesPlanned);
    expect(summary).toMatchObject({ duplicatesSkipped: 0, deadLettered: 0 });
    for (const node of summary.perNode) expect(node.convergedAtInterval, node.nodeId).toBe(node.theoreticalMinInterval);
    expectEveryNodeAtHead(summary);
    expectCleanAudit(summary);
  });

  it('converges with a clean audit under every kind of fault, each of them injected', async () => {
    // Act
    // Fault decisions are seeded: with this seed every kind strikes several times within the run.
    const { summary } = await runSimulation(
      { ...SMALL, nodes: 4, seed: 2, faults: parseFaults('duplicate=0.4,crash=0.3,throttle=0.2,poison=0.5,planner-duplicate=0.5,reorder,lose=0.1') },
      endpoints,
    );

    // Assess
    for (const [kind, count] of Object.entries(summary.faults)) expect(count, kind).toBeGreaterThan(0);
    expect(summary.converged).toBe(true);
    expect(summary.duplicatesSkipped).toBeGreaterThan(0);
    // Every malformed message dead-letters, unless `lose` took it first.
    expect(summary.deadLettered).toBeLessThanOrEqual(summary.faults.poison);
    expect(summary.deadLettered).toBeGreaterThanOrEqual(summary.faults.poison - summary.faults.lose);
    expectEveryNodeAtHead(summary);
    expectCleanAudit(summary);
  });

  it('dead-letters malformed messages while every node still converges', async () => {
    // Act
    const { summary, resources } = await runSimulation({ ...SMALL, faults: parseFaults('poison=1') }, endpoints);

    // Assess
    expect(summary.deadLettered).toBeGreaterThanOrEqual(1);
    expect(summary.deadLettered).toBe(summary.faults.poison);
    const sqs = localSqsClient(endpoints.sqs);
    const bodies: string[] = [];
    try {
      // A FIFO queue hands out one message per group until it is deleted: receive and delete until empty.
      for (;;) {
        const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: resources.queues.microbatchDeadLetter.url, MaxNumberOfMessages: 10 }));
        if (Messages.length === 0) break;
        for (const message of Messages) {
          bodies.push(message.Body ?? '');
          await sqs.send(new DeleteMessageCommand({ QueueUrl: resources.queues.microbatchDeadLetter.url, ReceiptHandle: message.ReceiptHandle }));
        }
      }
    } finally {
      sqs.destroy();
    }
    expect(bodies).toHaveLength(summary.deadLettered);
    // Only the injected messages: no real microbatch was dead-lettered.
    for (const body of bodies) expect(body.startsWith('{"v":1,"nodeId":') || body.includes('"v":3')).toBe(true);
    expect(summary.converged).toBe(true);
    expect(summary.convergedAtInterval).toBe(summary.theoreticalMinIntervals);
    expectEveryNodeAtHead(summary);
    expectCleanAudit(summary);
  });

  it('under ingest that never stops, loses tokens in the first intervals and is converged at every interval from the recovery bound on', async () => {
    // Act: four nodes all faster than the ingest (180 a minute); a fifth of the tokens lost, and
    // duplicates and crashes, in intervals 1–4 only.
    const { summary } = await runSimulation(
      {
        ...SMALL,
        quietAfter: null,
        faultsUntil: 4,
        rates: { 'node-1': 4, 'node-2': 5, 'node-3': 6, 'node-4': 8 },
        nodes: 4,
        faults: parseFaults('lose=0.2,duplicate=0.2,crash=0.1'),
      },
      endpoints,
    );

    // Assess
    expect(summary.faults.lose).toBeGreaterThan(0);
    expect(summary.recoveryBoundInterval).not.toBeNull();
    const bound = summary.recoveryBoundInterval ?? Number.POSITIVE_INFINITY;
    expect(summary.intervalsRun).toBeGreaterThanOrEqual(bound);
    for (const sample of summary.intervals.filter((interval) => interval.index >= bound)) expect(sample.checkerConverged, `interval ${sample.index}`).toBe(true);
    expect(summary.converged).toBe(true);
    for (const node of summary.perNode) expect(node.convergedAtInterval, node.nodeId).not.toBeNull();
    expect(summary.updatesIngested).toBe(summary.intervalsRun * 180);
    expectCleanAudit(summary);
  });
});
