/** The applier's logged reason for a dead letter, found by message id in CloudWatch Logs (mocked clients). */
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { applierLogGroup, failureReasons, reasonOf } from '#cli/applier-logs.ts';

const logs = mockClient(CloudWatchLogsClient);
const lambda = mockClient(LambdaClient);

/** A line as the applier's Powertools logger writes it for a failed record. */
function failureLine(messageId: string, error: { name: string; message: string }): string {
  return JSON.stringify({ level: 'ERROR', message: 'microbatch failed: it will be retried, then dead-lettered', messageId, error: { ...error, stack: '…' } });
}

beforeEach(() => {
  logs.reset();
  lambda.reset();
});

describe('failureReasons', () => {
  it('finds the latest logged failure of each message id, searching from a little before it was sent', async () => {
    // Prepare
    logs
      .on(FilterLogEventsCommand, { filterPattern: '{ $.messageId = "m-1" && $.level = "ERROR" }' })
      .resolves({
        events: [
          { timestamp: 2, message: failureLine('m-1', { name: 'IntegrityError', message: 'the chain at seq 41 does not match' }) },
          { timestamp: 1, message: failureLine('m-1', { name: 'TimeoutError', message: 'socket hang up' }) },
        ],
      })
      .on(FilterLogEventsCommand, { filterPattern: '{ $.messageId = "m-2" && $.level = "ERROR" }' })
      .resolves({ events: [] });

    // Act
    const reasons = await failureReasons([{ messageId: 'm-1', sentAt: '2025-01-01T00:10:00.000Z' }, { messageId: 'm-2' }], { logs: new CloudWatchLogsClient({}), logGroupName: 'applier-logs' });

    // Assess
    expect(reasons).toEqual(new Map([['m-1', 'IntegrityError: the chain at seq 41 does not match']]));
    expect(logs).toHaveReceivedCommandWith(FilterLogEventsCommand, { logGroupName: 'applier-logs', startTime: Date.parse('2025-01-01T00:05:00.000Z') });
  });

  it('follows nextToken through empty pages until the failure is found', async () => {
    // Prepare
    logs
      .on(FilterLogEventsCommand)
      .resolvesOnce({ events: [], nextToken: 'a' })
      .resolvesOnce({ events: [{ timestamp: 5, message: failureLine('m-3', { name: 'Error', message: 'boom' }) }] });

    // Act
    const reasons = await failureReasons([{ messageId: 'm-3' }], { logs: new CloudWatchLogsClient({}), logGroupName: 'g' });

    // Assess
    expect(reasons.get('m-3')).toBe('Error: boom');
    expect(logs).toHaveReceivedCommandTimes(FilterLogEventsCommand, 2);
    expect(logs).toHaveReceivedNthCommandWith(FilterLogEventsCommand, 2, { nextToken: 'a' });
  });
});

describe('applierLogGroup', () => {
  it('takes the log group from the function’s logging config, else Lambda’s default name', async () => {
    lambda.on(GetFunctionConfigurationCommand, { FunctionName: 'custom' }).resolves({ LoggingConfig: { LogGroup: 'Stack-ApplierLogs-ABC' } });
    lambda.on(GetFunctionConfigurationCommand, { FunctionName: 'plain' }).resolves({});
    expect(await applierLogGroup(new LambdaClient({}), 'custom')).toBe('Stack-ApplierLogs-ABC');
    expect(await applierLogGroup(new LambdaClient({}), 'plain')).toBe('/aws/lambda/plain');
  });
});

describe('reasonOf', () => {
  it('quotes a structured line’s message when it carries no error, and an unstructured line as it is', () => {
    expect(reasonOf(JSON.stringify({ level: 'ERROR', message: 'Task timed out' }))).toBe('Task timed out');
    expect(reasonOf('2025-01-01T00:00:00Z\tTask timed out after 30.00 seconds\n')).toBe('2025-01-01T00:00:00Z\tTask timed out after 30.00 seconds');
  });
});
