/** `microbatch dlq purge`'s question and refusal, with a mocked SQS and a mocked terminal. */
import { GetQueueAttributesCommand, PurgeQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { microbatch } from '#test/support/microbatch-cli.ts';
import { terminal } from '#test/support/terminal.ts';
import { LOCAL_RESOURCES, mockedLocalStateFile } from '#test/support/mocked-deployment.ts';

vi.mock('node:readline/promises', () => import('#test/support/terminal.ts'));

describe('microbatch dlq purge', () => {
  const sqs = mockClient(SQSClient);
  const stateFile = mockedLocalStateFile();
  const isTTY = process.stdin.isTTY;

  beforeEach(() => {
    sqs.reset();
    sqs.on(GetQueueAttributesCommand, { QueueUrl: LOCAL_RESOURCES.deadLetterQueueUrl }).resolves({ Attributes: { ApproximateNumberOfMessages: '1' } });
    terminal.questions.length = 0;
    process.stdin.isTTY = true;
  });

  afterEach(() => {
    process.stdin.isTTY = isTTY;
  });

  it('asks about one dead-lettered microbatch in the singular, and purges nothing when told no', async () => {
    // Act
    const { code, stdout, stderr } = await microbatch('--state-file', stateFile, 'dlq', 'purge');

    // Assess
    expect(code, stderr).toBe(0);
    expect(terminal.questions).toHaveLength(1);
    expect(terminal.questions[0]).toMatch(/^purge 1 dead-lettered microbatch\? /);
    expect(stdout).toBe('nothing purged\n');
    expect(sqs).not.toHaveReceivedCommand(PurgeQueueCommand);
  });

  it('refuses without --yes when it cannot ask, naming the one message, and exits 2', async () => {
    // Prepare
    process.stdin.isTTY = false;

    // Act
    const { code, stderr } = await microbatch('--state-file', stateFile, 'dlq', 'purge');

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain('the dead-letter queue holds 1 message: add --yes');
    expect(terminal.questions).toEqual([]);
  });
});
