/**
 * `microbatch dlq` against a local deployment: a microbatch the real applier fails until SQS
 * dead-letters it, listed without being consumed, and purged only when confirmed.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter } from '#cli/dead-letters.ts';
import { queueDepth } from '#cli/dead-letters.ts';
import { localDeploymentFixture, type LocalDeploymentFixture } from './microbatch-local.ts';
import { microbatch } from '#test/support/microbatch-cli.ts';
import { emulatorClients } from './support.ts';

const clients = emulatorClients();
let local: LocalDeploymentFixture;

async function send(queueUrl: string, body: string, group: string): Promise<string> {
  const { MessageId } = await clients.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageGroupId: group, MessageDeduplicationId: randomUUID() }));
  return MessageId ?? '';
}

const deadLetterDepth = (): Promise<number> => queueDepth(clients.sqs, local.resources.queues.microbatchDeadLetter.url);

beforeAll(async () => {
  local = await localDeploymentFixture(clients, 'cli-dlq', { maxReceiveCount: 1 });
});

afterAll(async () => {
  await local.remove();
  clients.destroy();
});

describe('microbatch dlq on a local deployment', () => {
  let malformedId: string;
  let tokenId: string;

  it('lists what the applier failed and SQS dead-lettered, with the token’s fields or the body’s parse error, and leaves it there', async () => {
    // Prepare: a body the applier cannot parse fails until SQS moves it (maxReceiveCount 1); a
    // well-formed token is put in the dead-letter queue as SQS would have moved it.
    malformedId = await send(local.resources.queues.microbatch.url, '{"v":2,"nodeId":"n-a"', 'n-a');
    await local.drain();
    const token = { v: 2, stream: 'main', nodeId: 'n-b', interval: 7, from: 10, index: 1, count: 3, plannedAt: new Date().toISOString(), target: 40 };
    tokenId = await send(local.resources.queues.microbatchDeadLetter.url, JSON.stringify(token), 'n-b');

    // Act
    const { code, stdout, stderr } = await microbatch(...['--state-file', local.stateFile, '--json', 'dlq', 'list']);
    const human = await microbatch(...['--state-file', local.stateFile, 'dlq', 'list']);

    // Assess
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout) as { depth: number; letters: DeadLetter[]; redrive: string };
    expect(result.depth).toBe(2);
    const byId = new Map(result.letters.map((letter) => [letter.messageId, letter]));
    expect(byId.get(malformedId)).toMatchObject({ node: 'n-a', parseError: expect.stringContaining('body is not JSON') as unknown, reason: expect.stringContaining('not recorded') as unknown });
    expect(byId.get(malformedId)?.receiveCount).toBeGreaterThanOrEqual(1);
    expect(byId.get(tokenId)).toMatchObject({ node: 'n-b', interval: 7, index: 1, count: 3, target: 40 });
    expect(result.redrive).toMatch(/^nothing to redrive/);
    expect(human.stdout).toContain('2 shown of 2 dead-lettered');
    expect(human.stdout).toContain('malformed: invalid microbatch: body is not JSON');
    expect(await deadLetterDepth()).toBe(2);
  });

  it('refuses to purge without --yes when it cannot ask, exits 2 and purges nothing', async () => {
    // Act
    const { code, stdout, stderr } = await microbatch(...['--state-file', local.stateFile, 'dlq', 'purge']);

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('the dead-letter queue holds 2 messages: add --yes');
    expect(await deadLetterDepth()).toBe(2);
  });

  it('purges with --yes, saying how many and that nothing is redriven', async () => {
    // Act
    const { code, stdout, stderr } = await microbatch(...['--state-file', local.stateFile, 'dlq', 'purge', '--yes']);

    // Assess
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('purged 2 dead-lettered microbatches');
    expect(stdout).toContain('nothing to redrive');
    expect(await deadLetterDepth()).toBe(0);
  });

  it('exits 2 for a bad --limit', async () => {
    const { code, stderr } = await microbatch(...['--state-file', local.stateFile, 'dlq', 'list', '--limit', '0']);
    expect(code).toBe(2);
    expect(stderr).toContain('--limit must be a whole number');
  });
});
