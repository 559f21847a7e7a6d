/** `microbatch dlq list|purge`: what is dead-lettered and why; purge with a count and a confirmation. Nothing is redriven. */
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { InvalidArgumentError, type Command } from 'commander';
import { plural } from '#local/counts.ts';
import { applierLogGroup, failureReasons } from '../applier-logs.ts';
import { confirmed } from '../confirm.ts';
import { listDeadLetters, NO_REDRIVE, purgeDeadLetters, queueDepth, type DeadLetter } from '../dead-letters.ts';
import type { Deployment } from '../deployment.ts';
import { table } from '../output.ts';
import type { CommandContext } from '../program.ts';

const NOT_RECORDED_LOCALLY = 'not recorded: a local applier logs to the console of `microbatch up`';

function messageLimit(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 10_000) throw new InvalidArgumentError('--limit must be a whole number from 1 to 10000.');
  return value;
}

/** Fills in each letter's reason: the applier's log of a stack, or a note for a local deployment. */
async function addReasons(deployment: Deployment, letters: readonly DeadLetter[]): Promise<void> {
  const { source } = deployment;
  const functionName = deployment.resources.functions?.applier;
  if (source.kind === 'local' || functionName === undefined) {
    for (const letter of letters) letter.reason = NOT_RECORDED_LOCALLY;
    return;
  }
  const clientOptions = source.region === undefined ? {} : { region: source.region };
  const logGroupName = await applierLogGroup(new LambdaClient(clientOptions), functionName);
  const reasons = await failureReasons(
    letters.map(({ messageId, sentAt }) => ({ messageId, ...(sentAt === undefined ? {} : { sentAt }) })),
    { logs: new CloudWatchLogsClient(clientOptions), logGroupName },
  );
  for (const letter of letters) letter.reason = reasons.get(letter.messageId) ?? `no failure logged for this message id in ${logGroupName} (expired, or logged under another level)`;
}

function formatList(result: { readonly depth: number; readonly letters: readonly DeadLetter[] }): string {
  if (result.depth === 0 && result.letters.length === 0) return `the dead-letter queue is empty\n${NO_REDRIVE}`;
  const rows = result.letters.map((letter) => [
    letter.node ?? '?',
    letter.interval ?? '',
    letter.index === undefined ? '' : `${letter.index}/${letter.count ?? '?'}`,
    letter.target ?? '',
    letter.receiveCount ?? '',
    letter.firstReceivedAt ?? '',
    letter.parseError === undefined ? (letter.reason ?? '') : `malformed: ${letter.parseError}`,
  ]);
  return [
    table(['node', 'interval', 'token', 'target', 'receives', 'first received', 'why'], rows),
    `${result.letters.length} shown of ${result.depth} dead-lettered (a node's later dead letters show once its earlier ones are purged)`,
    NO_REDRIVE,
  ].join('\n');
}

export function registerDlq(program: Command, context: CommandContext): void {
  const dlq = program.command('dlq').description('the microbatch dead-letter queue: list what is there and why, or purge it (there is nothing to redrive)');
  dlq
    .command('list')
    .description('show the dead-lettered microbatches without consuming them: node, interval, token, target, receives, first received, and why')
    .option('--limit <n>', 'show at most this many', messageLimit, 100)
    .action(async (options: { readonly limit: number }) => {
      const deployment = await context.deployment();
      const result = await listDeadLetters(deployment.clients.sqs, deployment.resources.deadLetterQueueUrl, options.limit);
      await addReasons(deployment, result.letters);
      context.output().result({ ...result, redrive: NO_REDRIVE }, formatList);
    });
  dlq
    .command('purge')
    .description('delete every dead-lettered microbatch, after showing the count and asking (--yes to skip the question)')
    .option('--yes', 'purge without asking', false)
    .action(async (options: { readonly yes: boolean }) => {
      const deployment = await context.deployment();
      const output = context.output();
      const { sqs } = deployment.clients;
      const url = deployment.resources.deadLetterQueueUrl;
      const depth = await queueDepth(sqs, url);
      const go =
        depth === 0 ||
        (await confirmed(
          { yes: options.yes, json: output.json },
          `purge ${plural(depth, 'dead-lettered microbatch', 'dead-lettered microbatches')}? ${NO_REDRIVE}`,
          `the dead-letter queue holds ${plural(depth, 'message')}: add --yes to purge them without a question; nothing was purged`,
        ));
      if (!go) {
        output.result({ purged: 0, depth }, () => 'nothing purged');
        return;
      }
      const purged = depth === 0 ? 0 : await purgeDeadLetters(sqs, url);
      output.result({ purged, redrive: NO_REDRIVE }, () => `purged ${plural(purged, 'dead-lettered microbatch', 'dead-lettered microbatches')}\n${NO_REDRIVE}`);
    });
}
