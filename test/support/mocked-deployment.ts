/**
 * Deployments for in-process `microbatch(...)` tests that need no emulator: the SDK clients are
 * mocked (aws-sdk-client-mock stubs every instance of a client class), so a local state file only
 * has to name the resources, and a stack only has to answer DescribeStacks with its outputs.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateSettings } from '#shared/domain/config.ts';
import { writeLocalState, type DeploymentResources } from '#cli/deployment.ts';

/** A stack's CloudFormation outputs, as the stack writes them. */
export const STACK_OUTPUTS: Readonly<Record<string, string>> = {
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

/** DescribeStacks' answer for stack `Sync` with these outputs. */
export function stackWith(outputs: Readonly<Record<string, string>>): {
  Stacks: { StackName: string; StackStatus: 'CREATE_COMPLETE'; CreationTime: Date; Outputs: { OutputKey: string; OutputValue: string }[] }[];
} {
  return {
    Stacks: [{ StackName: 'Sync', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(0), Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }],
  };
}

/** The resource names of {@link mockedLocalStateFile}'s deployment. */
export const LOCAL_RESOURCES: DeploymentResources = {
  logTable: 'local-Log',
  nodesTable: 'local-Nodes',
  replicaTable: 'local-Replica',
  convergenceTable: 'local-Convergence',
  ingestRequestsTable: 'local-IngestRequests',
  plansTable: 'local-Plans',
  queueUrl: 'http://127.0.0.1:9/queue/local-microbatches.fifo',
  deadLetterQueueUrl: 'http://127.0.0.1:9/queue/local-microbatches-dlq.fifo',
  planTaskQueueUrl: 'http://127.0.0.1:9/queue/local-plan-tasks',
  checkTaskQueueUrl: 'http://127.0.0.1:9/queue/local-check-tasks',
};

/**
 * An endpoint that accepts connections and closes them: enough for the command line's check that a
 * state file's emulators answer (a connection), while every request goes to the mocked clients.
 * It does not keep the test process alive.
 */
const acceptingEndpoint: string = await new Promise((resolve, reject) => {
  const server = createServer((socket) => socket.destroy());
  server.once('error', reject);
  server.listen(0, '127.0.0.1', () => {
    server.unref();
    resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
});

/** A state file for `--state-file` naming {@link LOCAL_RESOURCES} on an endpoint that answers connections (the clients are mocked). */
export function mockedLocalStateFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'microbatch-mocked-')), 'state.json');
  writeLocalState(
    {
      version: 1,
      pid: process.pid,
      startedAt: new Date(0).toISOString(),
      endpoints: { dynamodb: acceptingEndpoint, sqs: acceptingEndpoint },
      resources: LOCAL_RESOURCES,
      settings: validateSettings({ intervalSeconds: 60, batchSize: 10 }, 'local'),
    },
    file,
  );
  return file;
}
