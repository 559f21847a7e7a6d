/** The settings `plan --dry-run` plans with on a deployed stack: the planner function's own environment. */
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import type { Deployment } from '#cli/deployment.ts';
import { deploymentSettings } from '#cli/plan/dry-run.ts';

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
