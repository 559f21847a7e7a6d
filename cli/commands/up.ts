/** `microbatch up`: the whole system locally, in real time, until Ctrl-C. */
import { InvalidArgumentError, type Command } from 'commander';
import { UsageError } from '#local/errors.ts';
import { plural } from '#local/counts.ts';
import { LOCAL_NODES_PER_SHARD } from '#local/scenario.ts';
import { DEFAULT_LOCAL_STATE_FILE, reachOption } from '../deployment.ts';
import { stopRequests } from '../stop-requests.ts';
import type { CommandContext, RegisterCommand } from '../program.ts';
import { FAULTS, faultsHelp } from '#local/faults.ts';
import { startUp, UP_DEFAULTS, upFaults, upSettings, type UpIntervalStatus } from '../up/start-up.ts';

function wholeNumber(text: string): number {
  const value = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isInteger(value)) throw new InvalidArgumentError('must be a whole number');
  return value;
}

/** What resuming a data directory under new settings means, in a line. */
export function resumedNote(before: { readonly intervalSeconds: number; readonly batchSize: number }, now: { readonly intervalSeconds: number; readonly batchSize: number }): string {
  const changes = [
    ...(before.intervalSeconds === now.intervalSeconds ? [] : [`t ${before.intervalSeconds} → ${now.intervalSeconds} s (the interval clock starts a new epoch at the next tick)`]),
    ...(before.batchSize === now.batchSize ? [] : [`b ${before.batchSize} → ${now.batchSize}`]),
  ];
  return `  resumed the tables of the last run (queues start empty: what was queued is re-sent)${changes.length === 0 ? '' : `; ${changes.join(', ')}`}`;
}

/** Where `up --keep` keeps its tables: next to the default state file, in the ignored out/. */
export const KEPT_DATA_DIR = 'out/up-data';

/** The data directory `--keep` or `--data-dir` names, if any: `--keep` is `--data-dir out/up-data`. */
export function upDataDir(options: { readonly keep?: boolean; readonly dataDir?: string }): string | undefined {
  if (options.keep === true && options.dataDir !== undefined) {
    throw new UsageError(`--keep is --data-dir ${KEPT_DATA_DIR}: give one of --keep and --data-dir ${options.dataDir}`);
  }
  return options.keep === true ? KEPT_DATA_DIR : options.dataDir;
}

/** Where the other commands find this `up`, in a line. */
export function reachLine(stateFile: string): string {
  const option = reachOption(stateFile);
  return `  state file ${stateFile}: in another terminal, \`npx microbatch ${option} nodes add n-1 --rate 5\`, \`npx microbatch ${option} status\``;
}

/** One status line per tick. */
export function statusLine(status: UpIntervalStatus): string {
  const latest = status.latest === undefined ? 'not judged yet' : `interval ${status.latest.interval} ${status.latest.converged ? 'converged' : 'not converged'}`;
  const struck = FAULTS.filter(({ kind }) => status.faults[kind] > 0).map(({ flag, kind }) => `${flag} ${status.faults[kind]}`);
  return (
    `${status.scheduledTime}  interval ${status.interval}  head ${status.head}  consistent ${status.consistentNodes}/${status.activeNodes}  ` +
    `max lag ${status.maxLagUpdates}  microbatches applied ${status.microbatchesApplied} (planned ${status.microbatchesPlanned}, shards ${status.shardsReported}/${status.shards})  ${latest}` +
    (struck.length === 0 ? '' : `  faults: ${struck.join(', ')}`)
  );
}

/** A line for stdout, unless its reader has gone (then the stop is on its way). */
function printLine(line: string): void {
  if (!process.stdout.destroyed) process.stdout.write(`${line}\n`);
}

export const registerUp: RegisterCommand = (program: Command, context: CommandContext) => {
  program
    .command('up')
    .description('run the whole system locally in real time (DynamoDB Local + the SQS emulator, the real handlers) until Ctrl-C; other commands reach it with --local')
    .option('--interval <seconds>', `t: seconds between planner and checker ticks (default ${UP_DEFAULTS.intervalSeconds})`, wholeNumber)
    .option('--batch-size <b>', `b: updates per microbatch (default ${UP_DEFAULTS.batchSize})`, wholeNumber)
    .option('--nodes-per-shard <n>', `nodes one planner or checker shard takes (default ${LOCAL_NODES_PER_SHARD})`, wholeNumber)
    .option('--shards <n>', 'a fixed number of planner and checker shards per interval (default: from --nodes-per-shard)', wholeNumber)
    .option('--faults <list>', `${faultsHelp(FAULTS.filter((fault) => !fault.throughProxy))}; the status line counts what struck (default: none)`)
    .option(
      '--data-dir <dir>',
      'keep the tables in this directory, and resume those an earlier up left there (change --interval or --batch-size between runs as a redeployment would); without it (or --keep) every up starts empty',
    )
    .option('--keep', `keep the tables between runs in ${KEPT_DATA_DIR}: short for --data-dir ${KEPT_DATA_DIR}`)
    .addHelpText(
      'after',
      `\nWrites the endpoints and resource names to the --local file (default ${DEFAULT_LOCAL_STATE_FILE}) and removes it on exit. ` +
        'Refused (exit 2) while another up runs with the same state file or --data-dir; one left by an up that is gone is taken over. Needs Java 17+ (exit 3 without it).',
    )
    .action(async (options: { interval?: number; batchSize?: number; nodesPerShard?: number; shards?: number; dataDir?: string; keep?: boolean; faults?: string }) => {
      const output = context.output();
      const local = context.globals().local;
      const stateFile = typeof local === 'string' ? local : DEFAULT_LOCAL_STATE_FILE;
      const cut = { nodesPerShard: options.nodesPerShard, shards: options.shards };
      upSettings({ intervalSeconds: options.interval, batchSize: options.batchSize, ...cut });
      const faults = options.faults === undefined ? undefined : upFaults(options.faults);
      const dataDir = upDataDir(options);
      // Listening from the start: a Ctrl-C while the emulators start still stops them cleanly.
      const stopRequested = stopRequests();
      const run = await startUp({
        ...(options.interval === undefined ? {} : { intervalSeconds: options.interval }),
        ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
        ...(options.nodesPerShard === undefined ? {} : { nodesPerShard: options.nodesPerShard }),
        ...(options.shards === undefined ? {} : { shards: options.shards }),
        ...(dataDir === undefined ? {} : { dataDir }),
        ...(faults === undefined ? {} : { faults }),
        stateFile,
        onInterval: (status) => {
          printLine(output.json ? JSON.stringify(status) : statusLine(status));
        },
        onError: (error) => {
          output.note(`warning: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`, true);
        },
        onNote: (note) => {
          output.note(note);
        },
      }).catch((error: unknown) => {
        stopRequested.dispose();
        throw error;
      });
      const { settings, endpoints, resources } = run.state;
      output.note(
        [
          `up: t = ${settings.intervalSeconds} s, b = ${settings.batchSize}, stream ${settings.stream}, ${settings.shards > 0 ? plural(settings.shards, 'shard') : `a shard per ${plural(settings.nodesPerShard, 'node')}`}`,
          `  DynamoDB ${endpoints.dynamodb}, SQS ${endpoints.sqs}; Nodes table ${resources.nodesTable}`,
          ...(run.resumed === undefined ? [] : [resumedNote(run.resumed, settings)]),
          reachLine(run.stateFile),
          '  Ctrl-C stops it',
        ].join('\n'),
      );
      const reason = await stopRequested.received;
      output.note(`${reason}: stopping (finishing the invocations in flight) …`);
      await run.stop();
      output.note(`stopped: emulators down, ${run.stateFile} removed`);
    });
};
