/**
 * `microbatch ingest FILE|-`: appends a JSON Lines file of `{ key, op, value? }` through the ingest
 * function; `--dry-run` checks and cuts it the same way and stops before the deployment.
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import type { AppendResult } from '#shared/usecases/append-updates.ts';
import { plural } from '#local/counts.ts';
import { UsageError } from '#local/errors.ts';
import { functionInvoker } from '../functions.ts';
import { contentKey, dryRunIngest, ingestRequests, parseUpdateLines, planRequests, type IngestDryRun, type IngestSummary } from '../ingest.ts';
import { table } from '../output.ts';
import type { CommandContext } from '../program.ts';
import { progressBar } from '../progress.ts';

async function readInput(file: string): Promise<Buffer> {
  if (file === '-') {
    const parts: Buffer[] = [];
    for await (const part of process.stdin) parts.push(part as Buffer);
    return Buffer.concat(parts);
  }
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file}: ${(error as Error).message}`);
  }
}

function describe(file: string, summary: IngestSummary): string {
  const ranges = summary.seqRanges.map(({ firstSeq, lastSeq }) => (firstSeq === lastSeq ? `${firstSeq}` : `${firstSeq}–${lastSeq}`)).join(', ');
  const earlier = summary.updates - summary.appended;
  return [
    `${file}: ${plural(summary.updates, 'update')} in ${plural(summary.chunks, 'chunk')}`,
    `appended ${summary.appended}${earlier > 0 ? ` (an earlier run had appended the other ${earlier})` : ''}; seqs ${ranges}; head ${summary.head}`,
    `replayed chunks ${summary.replayedChunks}, resumed chunks ${summary.resumedChunks}`,
  ].join('\n');
}

const NUMBER = new Intl.NumberFormat('en-US');

function describeDryRun(run: IngestDryRun): string {
  const count = run.requests.length;
  return [
    `${run.file}: ${run.updates} updates in ${NUMBER.format(run.fileBytes)} bytes, every line valid`,
    table(
      ['request', 'idempotency key', 'updates', 'payload bytes'],
      run.requests.map((request, index) => [index + 1, request.idempotencyKey, request.updates, NUMBER.format(request.payloadBytes)]),
    ),
    `would send ${count} request${count === 1 ? '' : 's'} of ${run.updates} updates to the ingest function: dry run, nothing sent, nothing appended`,
  ].join('\n');
}

export function registerIngest(program: Command, context: CommandContext): void {
  program
    .command('ingest')
    .description('append a JSON Lines file of { key, op, value? } (or - for stdin) through the ingest function; a re-run appends nothing twice')
    .argument('<file>', 'JSON Lines file, or - for stdin')
    .option('--dry-run', 'check every line and show the requests a run would send (keys, updates, bytes); send nothing')
    .action(async (file: string, options: { dryRun?: boolean }) => {
      const content = await readInput(file);
      const source = file === '-' ? 'stdin' : file;
      const updates = parseUpdateLines(content.toString('utf8'), source);
      const requests = planRequests(updates, contentKey(content));
      if (options.dryRun === true) {
        context.output().result(dryRunIngest(source, content.length, requests), describeDryRun);
        return;
      }
      const deployment = await context.deployment();
      const invoke = functionInvoker(deployment);
      const output = context.output();
      const bar = progressBar(updates.length, 'updates', { json: output.json });
      try {
        const summary = await ingestRequests(requests, {
          stream: deployment.stream,
          markers: new DynamoLogStore(deployment.clients.document, deployment.resources.logTable, { ingestRequestsTable: deployment.resources.ingestRequestsTable }),
          invoke: async (request) => (await invoke('ingest', request)) as AppendResult,
          onRequest: (count, index) => { bar.advance(count, `chunk ${index + 1}/${requests.length}`); },
        });
        bar.stop();
        output.result({ file: source, ...summary }, (value) => describe(source, value));
      } catch (error) {
        bar.stop();
        output.note(`ingest stopped: run the same command again to resume; the chunks that committed are not appended twice`, true);
        throw error;
      }
    });
}
