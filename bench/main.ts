/**
 * `npm run bench`: cost and speed against the physical limits and against the seed's per-update
 * way, each figure a ratio measured side by side in one run (absolute times depend on a machine
 * and on whatever else shares its cores). Progress goes to stderr, a table of every figure beside
 * its target to stdout, and the figures to bench/results.json, with the machine they were taken on.
 *
 *   npm run bench                          # every part but retry (~6–9 minutes on 2 cores)
 *   npm run bench -- --only apply,planner  # some parts; results.json keeps the others' last figures
 *   npm run bench -- --json                # the results as JSON on stdout instead of the table
 *   npm run bench -- --markdown            # the table as Markdown (the README's Benchmarks section)
 *
 * Exit codes: 0 measured (a missed target is a finding, shown ✗, not a failure), 1 a part failed,
 * 2 bad arguments, 3 no Java for DynamoDB Local.
 */
import Table from 'cli-table3';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describeError, EXIT, isEntryPoint, runProcess } from '#local/entry-point.ts';
import { startEmulators, type Emulators, useEmulatorCredentials } from '#local/emulators.ts';
import { EnvironmentError } from '#local/errors.ts';
import { markdownTable, rows, type Results } from './figures.ts';
import { describeMachine, finished, type Machine } from './machine.ts';
import { PART_NAMES, PARTS, type PartName } from './parts.ts';

const DEFAULT_OUT = 'bench/results.json';

export interface BenchArguments {
  readonly parts: readonly PartName[];
  readonly json: boolean;
  readonly markdown: boolean;
  /** Where the results go; null: nowhere. */
  readonly out: string | null;
}

function partList(text: string): PartName[] {
  const names = text.split(',').map((name) => name.trim()).filter((name) => name !== '');
  const unknown = names.filter((name) => !(PART_NAMES as string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) throw new InvalidArgumentError(`parts are ${PART_NAMES.join(', ')}; not ${unknown.join(', ') || 'none'}`);
  return PART_NAMES.filter((name) => names.includes(name));
}

/** Parses `argv` (without node and the script); @throws CommanderError for bad options or help. */
export function parseArguments(argv: readonly string[]): BenchArguments {
  const command = new Command('npm run bench --')
    .description('Cost and speed of Microbatch Sync against the physical limits and the per-update way, as ratios measured in one run')
    .addOption(new Option('--only <parts>', `comma-separated parts: ${PART_NAMES.join(', ')}`).argParser(partList))
    .option('--json', 'print the results as JSON on stdout instead of the table')
    .option('--markdown', 'print the table as Markdown')
    .option('--out <file>', 'where to write the results (merged with what the file holds)', DEFAULT_OUT)
    .option('--no-write', 'write no results file')
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => {
        write(text);
      },
    });
  command.parse([...argv], { from: 'user' });
  const raw = command.opts<{ only?: PartName[]; json?: boolean; markdown?: boolean; out: string; write: boolean }>();
  return {
    parts: raw.only ?? PART_NAMES.filter((name) => PARTS[name].byDefault),
    json: raw.json === true,
    markdown: raw.markdown === true,
    out: raw.write ? raw.out : null,
  };
}

/** What the results file holds: the machine of the latest run and each part's latest figures with its date. */
export interface ResultsFile {
  readonly machine: Machine;
  readonly [part: string]: unknown;
}

function readResults(file: string): Partial<ResultsFile> {
  if (!existsSync(file)) return {};
  return JSON.parse(readFileSync(file, 'utf8')) as Partial<ResultsFile>;
}

/** Runs `parts` in the list's order, sharing one pair of emulators; @returns each part's figures. */
async function runParts(parts: readonly PartName[], say: (line: string) => void): Promise<Partial<Record<PartName, unknown>>> {
  let emulators: Promise<Emulators> | undefined;
  const started = performance.now();
  const progress = (line: string): void => {
    say(`[${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}`);
  };
  const results: Partial<Record<PartName, unknown>> = {};
  try {
    for (const name of parts) {
      const began = performance.now();
      progress(`${name}: ${PARTS[name].describe}`);
      const figures = await PARTS[name].run({
        progress,
        emulators: () => {
          emulators ??= startEmulators().then((running) => {
            progress(`emulators started in ${running.startupMs.total} ms`);
            return running;
          });
          return emulators;
        },
      });
      results[name] = { measuredAt: new Date().toISOString(), seconds: Math.round((performance.now() - began) / 1000), ...(figures as object) };
      progress(`${name}: done in ${Math.round((performance.now() - began) / 1000)} s`);
    }
  } finally {
    if (emulators !== undefined) await (await emulators).stop();
  }
  return results;
}

function terminalTable(results: Results, machine: Machine): string {
  const table = new Table({ head: ['figure', 'measured', 'target', ''], style: { head: [], border: [], compact: true }, wordWrap: true, colWidths: [62, 34, 26, 3] });
  for (const row of rows(results)) table.push([`${row.path}\n${row.what}`, row.measured, row.target, row.verdict]);
  return `${table.toString()}\n${machineLine(machine)}\n`;
}

export function machineLine(machine: Machine): string {
  const load = machine.loadAverage.end === undefined ? `${machine.loadAverage.start}` : `${machine.loadAverage.start} → ${machine.loadAverage.end}`;
  return `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}, ${machine.os}; ${machine.date.slice(0, 10)}; load average ${load}`;
}

export async function main(argv: readonly string[]): Promise<number> {
  let args: BenchArguments;
  try {
    args = parseArguments(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    throw error;
  }
  // The handlers' and adapters' clients read region and credentials from the environment, as in
  // Lambda; here they reach only the emulators (or answer from memory), which accept any.
  useEmulatorCredentials();
  const say = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const machine = describeMachine();
  let measured: Partial<Record<PartName, unknown>>;
  try {
    measured = await runParts(args.parts, say);
  } catch (error) {
    if (!(error instanceof EnvironmentError)) throw error;
    say(`error: ${error.message}`);
    return EXIT.environment;
  }
  const results: ResultsFile = { ...(args.out === null ? {} : readResults(args.out)), ...measured, machine: finished(machine) };
  if (args.out !== null) writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`);
  const shown = results as unknown as Results;
  if (args.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else if (args.markdown) process.stdout.write(`${markdownTable(shown)}\n\n${machineLine(results.machine)}\n`);
  else process.stdout.write(terminalTable(shown, results.machine));
  return EXIT.ok;
}

if (isEntryPoint(import.meta.url)) {
  await runProcess(main, (error) => ({ code: EXIT.failed, message: `the benchmark failed: ${describeError(error)}` }));
}
