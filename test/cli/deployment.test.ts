/** Finding a deployed stack from its CloudFormation outputs, with a mocked CloudFormation client. */
import { CloudFormationClient, CloudFormationServiceException, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { MissingAwsSetupError, stackDeployment } from '#cli/deployment.ts';
import { UsageError } from '#local/errors.ts';
import { EXIT, failureOutcome } from '#local/entry-point.ts';
import { STACK_OUTPUTS, stackWith } from '#test/support/mocked-deployment.ts';

const OUTPUTS = STACK_OUTPUTS;

describe('stackDeployment', () => {
  const cloudFormation = mockClient(CloudFormationClient);

  beforeEach(() => {
    cloudFormation.reset();
  });

  it("reads the stack's outputs into table names, queue URLs and function names", async () => {
    // Prepare
    cloudFormation.on(DescribeStacksCommand, { StackName: 'Sync' }).resolves(stackWith(OUTPUTS));

    // Act
    const deployment = await stackDeployment('Sync', { region: 'eu-west-1', cloudFormation: new CloudFormationClient({ region: 'eu-west-1' }) });

    // Assess
    expect(deployment.source).toEqual({ kind: 'stack', stackName: 'Sync', region: 'eu-west-1' });
    expect(deployment.resources).toEqual({
      logTable: 'Stack-Log-1',
      nodesTable: 'Stack-Nodes-1',
      replicaTable: 'Stack-Replica-1',
      convergenceTable: 'Stack-Convergence-1',
      ingestRequestsTable: 'Stack-IngestRequests-1',
      plansTable: 'Stack-Plans-1',
      queueUrl: OUTPUTS.QueueUrl,
      deadLetterQueueUrl: OUTPUTS.DeadLetterQueueUrl,
      planTaskQueueUrl: OUTPUTS.PlanTaskQueueUrl,
      checkTaskQueueUrl: OUTPUTS.CheckTaskQueueUrl,
      failedTicksQueueUrl: OUTPUTS.FailedTicksQueueUrl,
      functions: {
        planner: 'Stack-Planner-1',
        plannerShard: 'Stack-PlannerShard-1',
        applier: 'Stack-Applier-1',
        checker: 'Stack-Checker-1',
        checkerShard: 'Stack-CheckerShard-1',
        ingest: 'Stack-Ingest-1',
      },
      alarmTopicArn: 'arn:aws:sns:eu-west-1:1:alarms',
    });
  });

  // A stack from before the sharded planner and checker lacks the last five.
  it.each(['NodesTableName', 'PlansTableName', 'PlanTaskQueueUrl', 'CheckTaskQueueUrl', 'PlannerShardFunctionName', 'CheckerShardFunctionName'])(
    'names a missing output, %s, and exits 2',
    async (missing) => {
      // Prepare
      const outputs = Object.fromEntries(Object.entries(OUTPUTS).filter(([key]) => key !== missing));
      cloudFormation.on(DescribeStacksCommand).resolves(stackWith(outputs));

      // Act
      const failure = await stackDeployment('Sync', { cloudFormation: new CloudFormationClient({ region: 'eu-west-1' }) }).catch((error: unknown) => error);

      // Assess
      expect(failure).toBeInstanceOf(UsageError);
      expect(failureOutcome(failure)).toEqual({ code: EXIT.usage, message: `stack Sync has no output ${missing}: is it a Microbatch Sync stack?` });
    },
  );

  it('takes a stack without the optional failed-ticks queue and alarm topic', async () => {
    // Prepare
    const outputs = Object.fromEntries(Object.entries(OUTPUTS).filter(([key]) => key !== 'FailedTicksQueueUrl' && key !== 'AlarmTopicArn'));
    cloudFormation.on(DescribeStacksCommand).resolves(stackWith(outputs));

    // Act
    const deployment = await stackDeployment('Sync', { cloudFormation: new CloudFormationClient({ region: 'eu-west-1' }) });

    // Assess
    expect(deployment.resources).not.toHaveProperty('failedTicksQueueUrl');
    expect(deployment.resources).not.toHaveProperty('alarmTopicArn');
    expect(deployment.resources.planTaskQueueUrl).toBe(OUTPUTS.PlanTaskQueueUrl);
  });

  it('says there is no such stack, and exits 2', async () => {
    // Prepare: what CloudFormation answers for a stack that does not exist.
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(new CloudFormationServiceException({ name: 'ValidationError', $fault: 'client', $metadata: {}, message: 'Stack with id Nope does not exist' }));

    // Act
    const failure = await stackDeployment('Nope', { region: 'eu-west-1', cloudFormation: new CloudFormationClient({ region: 'eu-west-1' }) }).catch((error: unknown) => error);

    // Assess
    expect(failureOutcome(failure)).toEqual({ code: EXIT.usage, message: 'no stack named Nope in eu-west-1: Stack with id Nope does not exist' });
  });
});

describe('stackDeployment without a region or credentials', () => {
  const cloudFormation = mockClient(CloudFormationClient);

  beforeEach(() => {
    cloudFormation.reset();
  });

  it.each([
    ['region', new Error('Region is missing')],
    ['credentials', Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' })],
  ] as const)('turns the SDK\'s missing %s into exit 3 with what to set', async (missing, sdkError: Error) => {
    // Prepare
    cloudFormation.on(DescribeStacksCommand).rejects(sdkError);

    // Act
    const failure = await stackDeployment('Sync', { cloudFormation: new CloudFormationClient({ region: 'eu-west-1' }) }).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(MissingAwsSetupError);
    expect(failure).toMatchObject({ missing, cause: sdkError });
    const outcome = failureOutcome(failure);
    expect(outcome.code).toBe(EXIT.environment);
    expect(outcome.message).toMatch(new RegExp(`^no AWS ${missing} for --stack Sync[ :]`));
  });

  it('leaves any other SDK error as it is (exit 1, with its stack)', async () => {
    // Prepare
    const denied = Object.assign(new Error('User is not authorized to perform: cloudformation:DescribeStacks'), { name: 'AccessDenied' });
    cloudFormation.on(DescribeStacksCommand).rejects(denied);

    // Act
    const failure = await stackDeployment('Sync', { cloudFormation: new CloudFormationClient({ region: 'eu-west-1' }) }).catch((error: unknown) => error);

    // Assess
    expect(failure).toBe(denied);
    expect(failureOutcome(failure).code).toBe(EXIT.failed);
  });
});
