/** `microbatch up`: the whole system locally, in real time, until Ctrl-C. */
import { InvalidArgumentError, type Command } from 'commander';
import { LOCAL_NODES_PER_SHARD } from '#local/scenario.ts';
import { DEFAULT_LOCAL_STATE_FILE } from '../deployment.ts';
import type { CommandContext, RegisterCommand } from '../program.ts';
import { startUp, UP_DEFAULTS, upSettings, type UpIntervalStatus } from '../up/start-up.ts';

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

/** One status line per tick. */
export function statusLine(status: UpIntervalStatus): string {
  const latest = status.latest === undefined ? 'not judged yet' : `interval ${status.latest.interval} ${status.latest.converged ? 'converged' : 'not converged'}`;
  return (
    `${status.scheduledTime}  interval ${status.interval}  head ${status.head}  consistent ${status.consistentNodes}/${status.activeNodes}  ` +
    `max lag ${status.maxLagUpdates}  microbatches applied ${status.microbatchesApplied} (planned ${status.microbatchesPlanned}, shards ${status.shardsReported}/${status.shards})  ${latest}`
  );
}

/** The first SIGINT or SIGTERM from now on (the default of exiting at once no longer applies); `dispose` stops listening. */
function firstSignal(): { readonly received: Promise<NodeJS.Signals>; dispose(): void } {
  let on: (signal: NodeJS.Signals) => void = () => undefined;
  const dispose = (): void => {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  };
  const received = new Promise<NodeJS.Signals>((resolve) => {
    on = (signal) => {
      dispose();
      resolve(signal);
    };
  });
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return { received, dispose };
}

export const registerUp: RegisterCommand = (program: Command, context: CommandContext) => {
  program
    .command('up')
    .description('run the whole system locally in real time (DynamoDB Local + the SQS emulator, the real handlers) until Ctrl-C; other commands reach it with --local')
    .option('--interval <seconds>', `t: seconds between planner and checker ticks (default ${UP_DEFAULTS.intervalSeconds})`, wholeNumber)
    .option('--batch-size <b>', `b: updates per microbatch (default ${UP_DEFAULTS.batchSize})`, wholeNumber)
    .option('--nodes-per-shard <n>', `nodes one planner or checker shard takes (default ${LOCAL_NODES_PER_SHARD})`, wholeNumber)
    .option('--shards <n>', 'a fixed number of planner and checker shards per interval (default: from --nodes-per-shard)', wholeNumber)
    .option('--data-dir <dir>', 'keep the tables in this directory, and resume those an earlier up left there (change --interval or --batch-size between runs as a redeployment would)')
    .addHelpText(
      'after',
      `\nWrites the endpoints and resource names to the --local file (default ${DEFAULT_LOCAL_STATE_FILE}) and removes it on exit. ` +
        'Refused (exit 2) while another up runs with the same state file or --data-dir; one left by an up that is gone is taken over. Needs Java 17+ (exit 3 without it).',
    )
    .action(async (options: { interval?: number; batchSize?: number; nodesPerShard?: number; shards?: number; dataDir?: string }) => {
      const output = context.output();
      const local = context.globals().local;
      const stateFile = typeof local === 'string' ? local : DEFAULT_LOCAL_STATE_FILE;
      const cut = { nodesPerShard: options.nodesPerShard, shards: options.shards };
      upSettings({ intervalSeconds: options.interval, batchSize: options.batchSize, ...cut });
      output.note('starting DynamoDB Local and the SQS emulator …');
      // Listening from the start: a Ctrl-C while the emulators start still stops them cleanly.
      const signal = firstSignal();
      const run = await startUp({
        ...(options.interval === undefined ? {} : { intervalSeconds: options.interval }),
        ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
        ...(options.nodesPerShard === undefined ? {} : { nodesPerShard: options.nodesPerShard }),
        ...(options.shards === undefined ? {} : { shards: options.shards }),
        ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
        stateFile,
        onInterval: (status) => {
          process.stdout.write(output.json ? `${JSON.stringify(status)}\n` : `${statusLine(status)}\n`);
        },
        onError: (error) => {
          output.note(`warning: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`, true);
        },
        onNote: (note) => {
          output.note(note);
        },
      }).catch((error: unknown) => {
        signal.dispose();
        throw error;
      });
      const { settings, endpoints, resources } = run.state;
      output.note(
        [
          `up: t = ${settings.intervalSeconds} s, b = ${settings.batchSize}, stream ${settings.stream}, ${settings.shards > 0 ? `${settings.shards} shards` : `a shard per ${settings.nodesPerShard} nodes`}`,
          `  DynamoDB ${endpoints.dynamodb}, SQS ${endpoints.sqs}; Nodes table ${resources.nodesTable}`,
          ...(run.resumed === undefined ? [] : [resumedNote(run.resumed, settings)]),
          `  state file ${run.stateFile}: in another terminal, \`npx microbatch --local nodes add n-1 --rate 5\`, \`npx microbatch --local status\``,
          '  Ctrl-C stops it',
        ].join('\n'),
      );
      const received = await signal.received;
      output.note(`${received}: stopping (finishing the invocations in flight) …`);
      await run.stop();
      output.note(`stopped: emulators down, ${run.stateFile} removed`);
    });
};
