/** `plan --dry-run`'s parts that need no emulator: the settings of a deployed stack (the planner function's own environment), and its text. */
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import type { Deployment } from '#cli/deployment.ts';
import { deploymentSettings, type DryRun } from '#cli/plan/dry-run.ts';
import { formatDryRun } from '#cli/plan/format-dry-run.ts';

describe('deploymentSettings', () => {
  it("reads a stack's settings from its planner's environment, validated as at the planner's cold start", async () => {
    // Prepare
    const lambda = mockClient(LambdaClient);
    lambda.on(GetFunctionConfigurationCommand, { FunctionName: 'Sync-Planner-1' }).resolves({
      Environment: { Variables: { STREAM_NAME: 'orders', INTERVAL_SECONDS: '120', BATCH_SIZE: '50', STALE_AFTER_INTERVALS: '4' } },
    });
    const deployment = { source: { kind: 'stack', stackName: 'Sync', region: 'eu-west-1' }, resources: { functions: { planner: 'Sync-Planner-1' } } } as unknown as Deployment;

    // Act
    const settings = await deploymentSettings(deployment, new LambdaClient({ region: 'eu-west-1' }));

    // Assess
    expect(settings).toMatchObject({ stream: 'orders', intervalSeconds: 120, batchSize: 50, staleAfterIntervals: 4, maxInFlightIntervals: 2 });
  });
});

describe('formatDryRun', () => {
  const settings = { intervalSeconds: 60, batchSize: 10, maxInFlightIntervals: 2, staleAfterIntervals: 3 };
  const run: DryRun = {
    stream: 'main',
    interval: 29_447_716,
    scheduledTime: '2026-11-27T10:16:00.000Z',
    head: 1,
    settings,
    nodes: [{ nodeId: 'n-1', rate: 1, appliedSeq: 0, plannedSeq: 0, decision: 'new-work', skipped: false, updates: 1, microbatches: 1, target: 1, resend: false }],
    totals: { nodesPlanned: 1, nodesSkipped: 0, skipped: {}, microbatches: 1, updatesPlanned: 1, resends: 1 },
    rejected: [],
  };

  it('writes the singular of each count of the totals line that is 1', () => {
    // Act
    const text = formatDryRun(run);

    // Assess
    expect(text).toContain('would send 1 microbatch to 1 node (1 new update, 1 resend); nothing was sent or claimed');
  });

  it('writes the plural of each count of the totals line that is not 1, and the skipped nodes by reason', () => {
    // Act
    const text = formatDryRun({ ...run, totals: { nodesPlanned: 2, nodesSkipped: 3, skipped: { paused: 1, 'caught-up': 2 }, microbatches: 12, updatesPlanned: 0, resends: 2 } });

    // Assess
    expect(text).toContain('would send 12 microbatches to 2 nodes (0 new updates, 2 resends); skipped 3 nodes (1 paused, 2 caught-up); nothing was sent or claimed');
  });
});
