/** `microbatch up`: the whole system locally, in real time, until Ctrl-C. */
import { InvalidArgumentError, type Command } from 'commander';
import { plural } from '#local/counts.ts';
import { LOCAL_NODES_PER_SHARD } from '#local/scenario.ts';
import { DEFAULT_LOCAL_STATE_FILE, reachOption } from '../deployment.ts';
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

/**
 * What stops `up`, from now on: the first SIGINT or SIGTERM, or stdout or stderr failing — EPIPE,
 * the reader of `up | tee` gone (tee dies of the same Ctrl-C), when the default would crash on the
 * next status line and leave the state file behind. The listeners stay for the rest of the process:
 * a repeated signal is swallowed (under npx one Ctrl-C arrives twice, the terminal's and the one npm
 * forwards, and the default action of the second would kill `up` in the middle of stopping), and a
 * write to a closed pipe fails quietly. `dispose` takes them away, for an `up` that did not start.
 */
function stopRequests(): { readonly received: Promise<string>; dispose(): void } {
  let stop: (reason: string) => void = () => undefined;
  const received = new Promise<string>((resolve) => {
    stop = resolve;
  });
  const onSignal = (signal: NodeJS.Signals): void => {
    stop(signal);
  };
  const outputs = (['stdout', 'stderr'] as const).map((name) => ({
    stream: process[name],
    onError: (error: NodeJS.ErrnoException) => {
      stop(`${name} closed (${error.code ?? error.message})`);
    },
  }));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  for (const { stream, onError } of outputs) stream.on('error', onError);
  return {
    received,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      for (const { stream, onError } of outputs) stream.off('error', onError);
    },
  };
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
      'keep the tables in this directory, and resume those an earlier up left there (change --interval or --batch-size between runs as a redeployment would); without it every up starts empty',
    )
    .addHelpText(
      'after',
      `\nWrites the endpoints and resource names to the --local file (default ${DEFAULT_LOCAL_STATE_FILE}) and removes it on exit. ` +
        'Refused (exit 2) while another up runs with the same state file or --data-dir; one left by an up that is gone is taken over. Needs Java 17+ (exit 3 without it).',
    )
    .action(async (options: { interval?: number; batchSize?: number; nodesPerShard?: number; shards?: number; dataDir?: string; faults?: string }) => {
      const output = context.output();
      const local = context.globals().local;
      const stateFile = typeof local === 'string' ? local : DEFAULT_LOCAL_STATE_FILE;
      const cut = { nodesPerShard: options.nodesPerShard, shards: options.shards };
      upSettings({ intervalSeconds: options.interval, batchSize: options.batchSize, ...cut });
      const faults = options.faults === undefined ? undefined : upFaults(options.faults);
      // Listening from the start: a Ctrl-C while the emulators start still stops them cleanly.
      const stopRequested = stopRequests();
      const run = await startUp({
        ...(options.interval === undefined ? {} : { intervalSeconds: options.interval }),
        ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
        ...(options.nodesPerShard === undefined ? {} : { nodesPerShard: options.nodesPerShard }),
        ...(options.shards === undefined ? {} : { shards: options.shards }),
        ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
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
