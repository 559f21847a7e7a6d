/**
 * The schedules that drive the planner and the checker, and what becomes of a failed tick: how often
 * Lambda may retry it (only as often as its fixed waits fit in one interval), and, in the stack with
 * cdk.json's defaults, the schedules, their payload and the failed-ticks queue.
 */
import { describe, expect, it } from 'vitest';
import { parseScheduledEvent } from '#shared/domain/scheduled-event.ts';
import { tickAsyncInvoke } from '#infra/constructs/schedules.ts';
import { defaultStack, logicalId, resourcesOfType } from './support.ts';

const built = defaultStack();
const { fn, properties } = built;

describe('tickAsyncInvoke', () => {
  it.each([
    [60, 0],
    [120, 1],
    [180, 1],
    [240, 2],
    [3_600, 2],
  ])('at t = %i s lets Lambda retry a failed run %i time(s) and drops the event after one interval', (intervalSeconds, retryAttempts) => {
    expect(tickAsyncInvoke(intervalSeconds)).toEqual({ retryAttempts, maxEventAgeSeconds: intervalSeconds });
  });

  it("never asks for an event age outside Lambda's 60 s – 6 h", () => {
    expect(tickAsyncInvoke(86_400).maxEventAgeSeconds).toBe(21_600);
  });
});

describe('schedules', () => {
  it.each(['planner', 'checker'] as const)('invokes the %s every interval with flexible window off, retries and a DLQ', (name) => {
    expect(properties(logicalId(built.synthesized.stack.schedules[name]))).toMatchObject({
      ScheduleExpression: 'rate(1 minute)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [logicalId(fn(name).function), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 60 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['SchedulerDeadLetterQueue', 'Arn'] } },
      },
    });
  });

  it.each(['planner', 'checker'] as const)('sends the %s the Scheduler payload its event schema accepts', (name) => {
    const input = (properties(logicalId(built.synthesized.stack.schedules[name])) as { Target: { Input: string } }).Target.Input;
    expect(JSON.parse(input)).toEqual({
      scheduledTime: '<aws.scheduler.scheduled-time>',
      executionId: '<aws.scheduler.execution-id>',
      attempt: '<aws.scheduler.attempt-number>',
    });
    // What Scheduler delivers once it fills the placeholders.
    const delivered = input
      .replace('<aws.scheduler.scheduled-time>', '2026-11-27T10:18:00Z')
      .replace('<aws.scheduler.execution-id>', 'c1d2e3f4-0000-4000-8000-000000000000')
      .replace('<aws.scheduler.attempt-number>', '1');
    expect(parseScheduledEvent(JSON.parse(delivered))).toEqual({ scheduledTime: new Date('2026-11-27T10:18:00Z'), shape: 'scheduler' });
  });

  it('encrypts the failed-ticks queue and keeps failed ticks for 14 days', () => {
    expect(properties('SchedulerDeadLetterQueue')).toEqual({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
  });
});

describe('a failed run of a scheduled function', () => {
  it.each(['planner', 'checker'] as const)(
    'is not retried by Lambda at t = 60 s, is dropped after one interval, and is recorded on the failed-ticks queue (%s)',
    (name) => {
      built.synthesized.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: logicalId(fn(name).function) },
        Qualifier: '$LATEST',
        // Lambda waits a minute before its first retry: at t = 60 s it would always come after the event's age.
        MaximumRetryAttempts: 0,
        MaximumEventAgeInSeconds: 60,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['SchedulerDeadLetterQueue', 'Arn'] } } },
      });
    },
  );

  it('is configured for the two scheduled functions only', () => {
    const configs = Object.values(resourcesOfType(built.json, 'AWS::Lambda::EventInvokeConfig')).map((resource) => resource.Properties?.FunctionName);
    expect(configs).toHaveLength(2);
    expect(configs).toEqual(expect.arrayContaining([{ Ref: logicalId(fn('planner').function) }, { Ref: logicalId(fn('checker').function) }]));
  });

  it.each(['planner', 'checker'] as const)('is configured only once the %s role may send to the queue (Lambda checks the permission when the configuration is put)', (name) => {
    const service = fn(name);
    const [policyId] = Object.keys(resourcesOfType(built.json, 'AWS::IAM::Policy')).filter((id) => {
      const roles = built.json.Resources[id]?.Properties?.Roles as unknown[];
      return JSON.stringify(roles) === JSON.stringify([{ Ref: logicalId(service.role) }]);
    });
    // The configuration names the function, which depends on the role's policy.
    expect((built.json.Resources[logicalId(service.function)] as { DependsOn?: string[] }).DependsOn).toContain(policyId);
  });

  it('lands in the same queue as the ticks Scheduler could not deliver', () => {
    for (const name of ['planner', 'checker'] as const) {
      const target = (properties(logicalId(built.synthesized.stack.schedules[name])) as { Target: { DeadLetterConfig: { Arn: unknown } } }).Target;
      expect(target.DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': ['SchedulerDeadLetterQueue', 'Arn'] });
    }
    expect(built.synthesized.stack.schedules.failedTicks).toBeDefined();
  });
});

