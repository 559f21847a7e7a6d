/**
 * Each function's IAM statements, resource by resource: exactly the calls its adapters make
 * (shared/adapters/**), and the schedules' roles. One synth serves the whole file.
 */
import { describe, expect, it } from 'vitest';
import { FUNCTION_NAMES, FUNCTIONS, type FunctionName } from '#infra/definitions.ts';
import { defaultStack, grantsOf, identityStatements, logicalId, roleStatements } from './support.ts';

const built = defaultStack();
const { fn, properties } = built;

describe('least privilege', () => {
  const consume = ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'];
  const withoutLogs = (name: FunctionName): Record<string, string[]> => {
    const logGroupId = logicalId(fn(name).logGroup);
    return Object.fromEntries(Object.entries(grantsOf(built.json, fn(name))).filter(([resource]) => resource !== logGroupId));
  };

  it('lets the planner read the head, size the fleet, write, read back and query plan headers and send plan tasks', () => {
    expect(withoutLogs('planner')).toEqual({
      LogTable: ['dynamodb:GetItem'],
      NodesTable: ['dynamodb:DescribeTable'],
      ConvergenceTable: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
      PlanTaskQueue: ['sqs:SendMessage'],
      // Lambda sends the record of a failed asynchronous run with the function's own role.
      SchedulerDeadLetterQueue: ['sqs:SendMessage'],
    });
  });

  it("lets a planner shard scan and claim nodes, read and write segment plans, read the newest plan header and report to its own, send microbatches and consume plan tasks", () => {
    expect(withoutLogs('plannerShard')).toEqual({
      NodesTable: ['dynamodb:Scan', 'dynamodb:UpdateItem'],
      PlansTable: ['dynamodb:PutItem', 'dynamodb:Query'],
      ConvergenceTable: ['dynamodb:Query', 'dynamodb:UpdateItem'],
      MicrobatchQueue: ['sqs:SendMessage'],
      PlanTaskQueue: consume,
    });
  });

  it('lets the applier read the log, move node cursors, write replicas and consume the queue', () => {
    expect(withoutLogs('applier')).toEqual({
      LogTable: ['dynamodb:Query'],
      NodesTable: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      ReplicaTable: ['dynamodb:PutItem'],
      MicrobatchQueue: consume,
    });
  });

  it('lets the checker read the head, size the fleet, read the watermark, records and check headers, write expiries, the watermark and check headers, and send check tasks', () => {
    expect(withoutLogs('checker')).toEqual({
      LogTable: ['dynamodb:GetItem'],
      NodesTable: ['dynamodb:DescribeTable'],
      ConvergenceTable: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      CheckTaskQueue: ['sqs:SendMessage'],
      SchedulerDeadLetterQueue: ['sqs:SendMessage'],
    });
  });

  it('lets a checker shard read chain links, scan nodes, store and merge partial tallies, write verdicts and consume check tasks', () => {
    expect(withoutLogs('checkerShard')).toEqual({
      LogTable: ['dynamodb:BatchGetItem'],
      NodesTable: ['dynamodb:Scan'],
      ConvergenceTable: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      CheckTaskQueue: consume,
    });
  });

  it('lets ingest append to the log and read and put the markers of idempotent requests, nothing more', () => {
    expect(withoutLogs('ingest')).toEqual({
      LogTable: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      IngestRequestsTable: ['dynamodb:PutItem', 'dynamodb:Query'],
    });
  });

  const WRITES = /^dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem|PartiQL(Insert|Update|Delete))$/;

  it('gives the applier no write action on the Log table', () => {
    expect((grantsOf(built.json, fn('applier')).LogTable ?? []).filter((action) => WRITES.test(action))).toEqual([]);
  });

  it.each(['planner', 'checker'] as const)('lets the %s send its failed-run record to the failed-ticks queue, and only send', (name) => {
    const failedTicksArn = { 'Fn::GetAtt': ['SchedulerDeadLetterQueue', 'Arn'] };
    // minimizePolicies may merge it with the coordinator's SendMessage on its task queue.
    const statements = roleStatements(built.json, logicalId(fn(name).role)).filter((statement) => statement.Resource.some((resource) => JSON.stringify(resource) === JSON.stringify(failedTicksArn)));
    expect(statements).toEqual([expect.objectContaining({ Effect: 'Allow', Action: ['sqs:SendMessage'] })]);
  });

  it('gives the functions that nothing invokes asynchronously no access to the failed-ticks queue', () => {
    const unscheduled = FUNCTION_NAMES.filter((name) => FUNCTIONS[name].invokedBy !== 'schedule');
    expect(unscheduled).toEqual(['plannerShard', 'applier', 'checkerShard', 'ingest']);
    for (const name of unscheduled) expect(grantsOf(built.json, fn(name)).SchedulerDeadLetterQueue).toBeUndefined();
  });

  it('gives no function but the applier any action on the Replica table', () => {
    for (const name of FUNCTION_NAMES.filter((other) => other !== 'applier')) expect(grantsOf(built.json, fn(name)).ReplicaTable, name).toBeUndefined();
  });

  it('grants no wildcard action and no wildcard resource in any identity policy', () => {
    const statements = identityStatements(built.json);
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(statement.Action.filter((action) => action.includes('*'))).toEqual([]);
      expect(statement.Resource).not.toContain('*');
    }
  });

  it('lets each scheduler role invoke only its own function and send only to the scheduler DLQ', () => {
    for (const [schedule, target] of [
      [built.synthesized.stack.schedules.planner, fn('planner')],
      [built.synthesized.stack.schedules.checker, fn('checker')],
    ] as const) {
      const scheduleProps = properties(logicalId(schedule)) as { Target: { RoleArn: { 'Fn::GetAtt': [string, string] } } };
      const roleId = scheduleProps.Target.RoleArn['Fn::GetAtt'][0];
      const functionId = logicalId(target.function);
      built.synthesized.template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: roleId }],
        PolicyDocument: {
          Statement: [
            { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: [{ 'Fn::GetAtt': [functionId, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [functionId, 'Arn'] }, ':*']] }] },
            { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['SchedulerDeadLetterQueue', 'Arn'] } },
          ],
        },
      });
      expect(properties(roleId).AssumeRolePolicyDocument).toMatchObject({
        Statement: [{ Principal: { Service: 'scheduler.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } }],
      });
    }
  });
});

