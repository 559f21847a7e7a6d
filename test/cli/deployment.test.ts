/** Finding a deployed stack from its CloudFormation outputs, with a mocked CloudFormation client. */
import { CloudFormationClient, CloudFormationServiceException, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { MissingAwsSetupError, stackDeployment } from '#cli/deployment.ts';
import { UsageError } from '#local/errors.ts';
import { EXIT, failureOutcome } from '#local/entry-point.ts';

const OUTPUTS: Record<string, string> = {
  LogTableName: 'Stack-Log-1',
  NodesTableName: 'Stack-Nodes-1',
  ReplicaTableName: 'Stack-Replica-1',
  ConvergenceTableName: 'Stack-Convergence-1',
  IngestRequestsTableName: 'Stack-IngestRequests-1',
  PlansTableName: 'Stack-Plans-1',
  QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/stack-queue.fifo',
  DeadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/stack-dlq.fifo',
  PlanTaskQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/stack-plan-tasks',
  CheckTaskQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/stack-check-tasks',
  FailedTicksQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/stack-failed-ticks',
  PlannerFunctionName: 'Stack-Planner-1',
  PlannerShardFunctionName: 'Stack-PlannerShard-1',
  ApplierFunctionName: 'Stack-Applier-1',
  CheckerFunctionName: 'Stack-Checker-1',
  CheckerShardFunctionName: 'Stack-CheckerShard-1',
  IngestFunctionName: 'Stack-Ingest-1',
  AlarmTopicArn: 'arn:aws:sns:eu-west-1:1:alarms',
};

function stackWith(outputs: Record<string, string>): { Stacks: { StackName: string; StackStatus: 'CREATE_COMPLETE'; CreationTime: Date; Outputs: { OutputKey: string; OutputValue: string }[] }[] } {
  return {
    Stacks: [{ StackName: 'Sync', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(0), Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }],
  };
}

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
