/**
 * `npm start`: runs the whole system on this machine — DynamoDB Local and fauxqs on loopback ports,
 * the real handlers, a simulated clock — then audits every replica and writes a report.
 *
 * Exit codes: 0 converged with a clean audit (or not expected to converge yet); 1 the audit found a
 * difference, the run should have converged and did not, or the run failed; 2 bad arguments;
 * 3 the machine lacks what the emulators need (Java 17+).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { resolve } from 'node:path';
import { finalReport, header, progressHeader, progressLine } from './console-tables.ts';
import { plural } from './counts.ts';
import { startEmulators } from './emulators.ts';
import { EXIT, failureOutcome, isEntryPoint, runProcess } from './entry-point.ts';
import { UsageError } from './errors.ts';
import { faultsHelp, parseFaults, type FaultSettings } from './faults.ts';
import { writeReport } from './report-file.ts';
import { defaultIntervals, LOCAL_NODES_PER_SHARD, nodeRates, scenarioDefaults, SCENARIOS, type Scenario } from './scenario.ts';
import { runSimulation, type SimulationOptions } from './simulation.ts';
import { shouldHaveConverged, type RunSummary } from './summary.ts';


interface CliOptions {
  readonly simulation: SimulationOptions;
  readonly json: boolean;
  readonly out: string;
  readonly verbose: boolean;
}

function wholeNumber(name: string, min: number, max: number): (text: string) => number {
  return (text) => {
    const value = text.trim() === '' ? Number.NaN : Number(text);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}.`);
    }
    return value;
  };
}

function positiveRate(name: string, max: number): (text: string) => number {
  return (text) => {
    const value = text.trim() === '' ? Number.NaN : Number(text);
    if (!Number.isFinite(value) || value < 0 || value > max) throw new InvalidArgumentError(`${name} must be a number from 0 to ${max}.`);
    return value;
  };
}

/** `--quiet-after`: a whole number of intervals, or `none` (ingest never stops; commander turns a parsed null into '', hence the word). */
function quietAfterValue(text: string): number | 'none' {
  if (text.trim() === 'none') return 'none';
  return wholeNumber('--quiet-after', 0, 10_000)(text);
}

/** `--rates 8,10,12.5`: one positive rate per node, in updates per second. */
function rateList(text: string): number[] {
  const rates = text.split(',').map((part) => (part.trim() === '' ? Number.NaN : Number(part)));
  if (rates.length === 0 || rates.some((value) => !Number.isFinite(value) || value <= 0 || value > 100_000)) {
    throw new InvalidArgumentError('--rates must be a comma-separated list of numbers above 0 (updates per second), one per node, as in 8,10,12.5.');
  }
  if (rates.length > 1000) throw new InvalidArgumentError('--rates takes at most 1000 nodes.');
  return rates;
}

function faultList(text: string): FaultSettings {
  try {
    return parseFaults(text);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const message = error.message.replace(/^--faults: /, '');
    throw new InvalidArgumentError(`${message.charAt(0).toUpperCase()}${message.slice(1)}.`);
  }
}

function program(): Command {
  const defaults = scenarioDefaults('default');
  const seed = scenarioDefaults('seed');
  return new Command('npm start --')
    .description(
      'Runs Microbatch Sync end to end on this machine: DynamoDB Local and an in-process SQS emulator, the real ' +
        'Lambda handlers, and a simulated clock on which an interval of t seconds takes milliseconds. ' +
        'Exit codes: 0 converged with a clean audit, 1 audit difference or not converged when it should have, 2 bad arguments, 3 no Java 17+.',
    )
    .addOption(
      new Option('--scenario <name>', "'seed' is the original write-up's example: 10 nodes with random rates in [0, 1) updates/s, b = 100, t = 1000 s")
        .choices(SCENARIOS)
        .default('default'),
    )
    .option('--nodes <n>', `nodes to register (default: ${defaults.nodes}; seed: ${seed.nodes})`, wholeNumber('--nodes', 1, 100_000))
    .option('--nodes-per-shard <n>', `nodes one planner or checker shard takes: S = ceil(nodes / n) (default: ${LOCAL_NODES_PER_SHARD})`, wholeNumber('--nodes-per-shard', 1, 10_000_000))
    .option('--shards <n>', 'a fixed number of planner and checker shards per interval (default: from --nodes-per-shard)', wholeNumber('--shards', 1, 1_000))
    .option('--intervals <n>', 'intervals to run at most (default: the theoretical minimum + staleAfterIntervals + 2)', wholeNumber('--intervals', 1, 10_000))
    .option('--interval-seconds <t>', `interval length t in seconds (default: ${defaults.intervalSeconds}; seed: ${seed.intervalSeconds})`, wholeNumber('--interval-seconds', 1, 86_400))
    .option('--batch-size <b>', `microbatch size b (default: ${defaults.batchSize})`, wholeNumber('--batch-size', 1, 10_000))
    .option('--ingest-rate <r>', `updates per second the producer ingests (default: ${defaults.ingestRate}; seed: ${seed.ingestRate})`, positiveRate('--ingest-rate', 10_000))
    .option(
      '--quiet-after <n|none>',
      `intervals after which ingest stops, so the nodes can converge; none: ingest never stops, and "converged" means every interval from the recovery bound on was judged converged (default: ${defaults.quietAfter}; seed: ${seed.quietAfter})`,
      quietAfterValue,
    )
    .option('--rates <list>', 'explicit node rates in updates per second, one per node (r1,r2,…); sets --nodes', rateList)
    .option('--keys <n>', `distinct keys the updates touch (default: ${defaults.keys})`, wholeNumber('--keys', 1, 1_000_000))
    .option('--seed <n>', `seed of the workload, the node rates and the faults (default: ${defaults.seed})`, wholeNumber('--seed', 0, 4_294_967_295))
    .option('--faults <list>', faultsHelp(), faultList)
    .option('--faults-until <n>', 'faults strike only in intervals ≤ n (default: every interval)', wholeNumber('--faults-until', 0, 10_000))
    .option('--json', 'print only the run summary as JSON on stdout')
    .option('--out <dir>', 'where to write report.html and summary.json', 'out')
    .option('--verbose', 'print handler warnings and per-interval timings (on stderr)')
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => {
        write(text);
      },
    });
}

/** Parses `argv` (without node and the script); @throws CommanderError for bad arguments or help. */
export function parseArguments(argv: readonly string[]): CliOptions {
  const command = program();
  command.parse([...argv], { from: 'user' });
  const raw = command.opts<{
    scenario: Scenario;
    nodes?: number;
    nodesPerShard?: number;
    shards?: number;
    intervals?: number;
    intervalSeconds?: number;
    batchSize?: number;
    ingestRate?: number;
    quietAfter?: number | 'none';
    rates?: number[];
    keys?: number;
    seed?: number;
    faults?: FaultSettings;
    faultsUntil?: number;
    json?: boolean;
    out: string;
    verbose?: boolean;
  }>();
  const base = scenarioDefaults(raw.scenario);
  const json = raw.json === true;
  const verbose = raw.verbose === true;
  if (raw.rates !== undefined && raw.nodes !== undefined && raw.nodes !== raw.rates.length) {
    throw new UsageError(`--nodes ${raw.nodes} disagrees with the ${plural(raw.rates.length, 'rate')} of --rates: give one or the other`);
  }
  const width = String(raw.rates?.length ?? 0).length;
  const rates = raw.rates === undefined ? undefined : Object.fromEntries(raw.rates.map((rate, index) => [`node-${String(index + 1).padStart(width, '0')}`, rate]));
  const simulation: SimulationOptions = {
    scenario: raw.scenario,
    nodes: raw.rates?.length ?? raw.nodes ?? base.nodes,
    ...(rates === undefined ? {} : { rates }),
    ...(raw.faultsUntil === undefined ? {} : { faultsUntil: raw.faultsUntil }),
    ...(raw.intervals === undefined ? {} : { intervals: raw.intervals }),
    ...(raw.nodesPerShard === undefined ? {} : { nodesPerShard: raw.nodesPerShard }),
    ...(raw.shards === undefined ? {} : { shards: raw.shards }),
    intervalSeconds: raw.intervalSeconds ?? base.intervalSeconds,
    batchSize: raw.batchSize ?? base.batchSize,
    ingestRate: raw.ingestRate ?? base.ingestRate,
    quietAfter: raw.quietAfter === 'none' ? null : (raw.quietAfter ?? base.quietAfter),
    keys: raw.keys ?? base.keys,
    seed: raw.seed ?? base.seed,
    faults: raw.faults ?? parseFaults(''),
    // Handler logs at INFO go to stdout, WARN and above to stderr: --json keeps stdout for the summary.
    logLevel: verbose ? (json ? 'WARN' : 'INFO') : 'SILENT',
  };
  return { simulation, json, out: raw.out, verbose };
}

export async function main(argv: readonly string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseArguments(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    throw error;
  }
  const { json, verbose } = options;
  // Progress is for a person: on stdout normally, on stderr (only with --verbose) under --json.
  const say = json ? (verbose ? (line: string) => process.stderr.write(`${line}\n`) : () => undefined) : (line: string) => process.stdout.write(`${line}\n`);
  const debug = verbose ? (line: string) => process.stderr.write(`  · ${line}\n`) : () => undefined;

  const wallStarted = performance.now();
  const emulators = await startEmulators({ handleSignals: true });
  try {
    const simulation = options.simulation;
    const rates = simulation.rates ?? nodeRates(simulation);
    const intervals = simulation.intervals ?? defaultIntervals(simulation, rates);
    say(header(simulation, intervals, emulators));
    say(progressHeader());
    const summary = (
      await runSimulation({ ...simulation, rates, intervals, log: debug, onInterval: (sample) => say(progressLine(sample)) }, emulators.endpoints)
    ).summary;
    const files = await writeReport(resolve(options.out), summary);
    const wallMs = performance.now() - wallStarted;
    if (json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else say(finalReport(summary, files, { wallMs, startupMs: emulators.startupMs.total }));
    return exitCode(summary);
  } finally {
    await emulators.stop();
  }
}

/** 0 when converged with a clean audit, or when the run was too short to expect convergence. */
export function exitCode(summary: RunSummary): number {
  const { audit } = summary;
  if (audit.mismatched + audit.missing + audit.extra > 0) return EXIT.failed;
  if (!summary.converged && shouldHaveConverged(summary)) return EXIT.failed;
  return EXIT.ok;
}


if (isEntryPoint(import.meta.url)) await runProcess(main, failureOutcome);
