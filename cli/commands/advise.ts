/**
 * `microbatch advise`: how to choose the interval t and the microbatch size b. Reads the node rates
 * (flags, a file, or the deployment's Nodes table), analyses a grid of (t, b) and prints the
 * recommendation, one point in detail, and the feasible region; `--html FILE` draws it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { FUNCTIONS } from '#infra/definitions.ts';
import { validateSettings } from '#shared/domain/config.ts';
import { ConfigError } from '#shared/domain/errors.ts';
import type { ShardingRules } from '#shared/domain/sharding.ts';
import { count } from '#local/counts.ts';
import { UsageError } from '#local/errors.ts';
import { analyzePoint, DEFAULT_WORKLOAD, type AdviseInput, type ApplierSettings, type NodeRate } from '../advise/model.ts';
import { requireBatchSize, requireInterval, type AdviseTarget } from '../advise/limits.ts';
import { renderAdvicePage } from '../advise/page.ts';
import { pricesWith } from '../advise/prices.ts';
import { parseRatesFile, parseRatesList, ratesFromDeployment } from '../advise/rates.ts';
import { advise } from '../advise/recommend.ts';
import { adviceJson, adviceText } from '../advise/text.ts';
import { DEFAULT_SHARDING } from '../advise/ticks.ts';
import type { CommandContext, RegisterCommand } from '../program.ts';

interface AdviseOptions {
  readonly rates?: string;
  readonly ratesFile?: string;
  readonly ingestRate?: string;
  readonly targetLag?: string;
  readonly interval?: string;
  readonly batchSize?: string;
  readonly backlog?: string;
  readonly price: readonly string[];
  readonly updateBytes?: string;
  readonly nodeItemBytes?: string;
  readonly applyMsPerUpdate?: string;
  readonly applyMsPerMicrobatch?: string;
  readonly applierConcurrency?: string;
  readonly applierTimeout?: string;
  readonly nodesPerShard?: string;
  readonly nodesPerSegment?: string;
  readonly shards?: string;
  readonly html?: string;
}

/** A backlog of this many seconds of ingest, unless `--backlog` says otherwise: a ten-minute outage. */
const DEFAULT_BACKLOG_SECONDS = 600;

function number(flag: string, raw: string | undefined, rule: { readonly min: number; readonly integer?: boolean; readonly above?: boolean }): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  const bad = raw.trim() === '' || !Number.isFinite(value) || (rule.integer === true && !Number.isInteger(value)) || (rule.above === true ? value <= rule.min : value < rule.min);
  if (bad) throw new UsageError(`${flag} must be ${rule.integer === true ? 'a whole number' : 'a number'} ${rule.above === true ? '>' : '≥'} ${rule.min} (got ${JSON.stringify(raw)})`);
  return value;
}

function required<T>(flag: string, value: T | undefined, example: string): T {
  if (value === undefined) throw new UsageError(`${flag} is required, e.g. ${flag} ${example}`);
  return value;
}

/** The applier settings and the cut a stack gets unless deployed with others: `cdk.json`'s context (held equal to CONTEXT_SCHEMA's defaults by a test). */
function stackDefaults(): { readonly applier: ApplierSettings; readonly sharding: ShardingRules } {
  const context = (JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
  const setting = (key: string, fallback: number): number => {
    const value = context[`microbatch-sync:${key}`];
    return typeof value === 'number' ? value : fallback;
  };
  return {
    applier: { maxConcurrency: setting('applierMaxConcurrency', 10), timeoutSeconds: setting('applierTimeoutSeconds', FUNCTIONS.applier.timeoutSeconds) },
    sharding: {
      nodesPerShard: setting('nodesPerShard', DEFAULT_SHARDING.nodesPerShard),
      nodesPerSegment: setting('nodesPerSegment', DEFAULT_SHARDING.nodesPerSegment),
      shards: setting('shards', DEFAULT_SHARDING.shards),
    },
  };
}

/** The option each setting of the cut comes from, for an error that names it. */
const SHARDING_OPTIONS: Readonly<Record<string, string>> = { nodesPerShard: '--nodes-per-shard', nodesPerSegment: '--nodes-per-segment', shards: '--shards' };

/** The cut as the flags give it over the stack's, checked by the settings' one validation; a bad value names its option. */
function shardingFrom(options: AdviseOptions, defaults: ShardingRules): ShardingRules {
  try {
    // t and b are placeholders here: requireInterval and requireBatchSize check the ones given.
    const settings = validateSettings(
      {
        intervalSeconds: 60,
        batchSize: 1,
        nodesPerShard: options.nodesPerShard ?? defaults.nodesPerShard,
        nodesPerSegment: options.nodesPerSegment ?? defaults.nodesPerSegment,
        shards: options.shards ?? defaults.shards,
      },
      'cloud',
    );
    return { nodesPerShard: settings.nodesPerShard, nodesPerSegment: settings.nodesPerSegment, shards: settings.shards };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new UsageError(`${SHARDING_OPTIONS[error.field] ?? error.field}: ${error.reason}`, { cause: error });
  }
}

/** Everything the model needs, validated before any deployment is contacted. */
function inputFrom(options: AdviseOptions, target: AdviseTarget): Omit<AdviseInput, 'nodes'> & { readonly interval?: number; readonly batchSize?: number } {
  const ingestRate = required('--ingest-rate', number('--ingest-rate', options.ingestRate, { min: 0 }), '4 (updates per second)');
  const targetLagSeconds = number('--target-lag', options.targetLag, { min: 0, above: true }) ?? null;
  const intervalRaw = number('--interval', options.interval, { min: 1, integer: true });
  const batchRaw = number('--batch-size', options.batchSize, { min: 1, integer: true });
  const defaults = stackDefaults();
  const workload = {
    updateBytes: number('--update-bytes', options.updateBytes, { min: 1, integer: true }) ?? DEFAULT_WORKLOAD.updateBytes,
    nodeItemBytes: number('--node-item-bytes', options.nodeItemBytes, { min: 1, integer: true }) ?? DEFAULT_WORKLOAD.nodeItemBytes,
    applyMsPerUpdate: number('--apply-ms-per-update', options.applyMsPerUpdate, { min: 0 }) ?? DEFAULT_WORKLOAD.applyMsPerUpdate,
    applyMsPerMicrobatch: number('--apply-ms-per-microbatch', options.applyMsPerMicrobatch, { min: 0 }) ?? DEFAULT_WORKLOAD.applyMsPerMicrobatch,
  };
  const backlog = number('--backlog', options.backlog, { min: 0 });
  return {
    ingestRate,
    targetLagSeconds,
    ...(backlog === undefined ? { backlogUpdates: Math.ceil(ingestRate * DEFAULT_BACKLOG_SECONDS), backlogSeconds: DEFAULT_BACKLOG_SECONDS } : { backlogUpdates: backlog }),
    target,
    workload,
    applier: {
      maxConcurrency: number('--applier-concurrency', options.applierConcurrency, { min: 1, integer: true }) ?? defaults.applier.maxConcurrency,
      timeoutSeconds: number('--applier-timeout', options.applierTimeout, { min: 1, integer: true }) ?? defaults.applier.timeoutSeconds,
    },
    sharding: shardingFrom(options, defaults.sharding),
    prices: pricesWith(options.price),
    ...(intervalRaw === undefined ? {} : { interval: requireInterval(intervalRaw, target) }),
    ...(batchRaw === undefined ? {} : { batchSize: requireBatchSize(batchRaw) }),
  };
}

async function nodesFrom(options: AdviseOptions, context: CommandContext): Promise<readonly NodeRate[]> {
  const globals = context.globals();
  if (options.rates !== undefined && options.ratesFile !== undefined) throw new UsageError('give --rates or --rates-file, not both');
  if (options.rates !== undefined) return parseRatesList(options.rates);
  if (options.ratesFile !== undefined) {
    let text: string;
    try {
      text = options.ratesFile === '-' ? readFileSync(0, 'utf8') : readFileSync(options.ratesFile, 'utf8');
    } catch (error) {
      throw new UsageError(`--rates-file ${options.ratesFile}: cannot read it (${error instanceof Error ? error.message : String(error)})`);
    }
    return parseRatesFile(text, options.ratesFile);
  }
  if (globals.stack === undefined && globals.local === undefined) {
    throw new UsageError('no node rates: give --rates r1,r2,…, --rates-file FILE, or a deployment (--stack NAME or --local) to read its Nodes table');
  }
  const { nodes, rejected } = await ratesFromDeployment(await context.deployment());
  if (rejected > 0) context.output().note(`warning: ${rejected === 1 ? '1 Nodes item is not a valid node and was' : `${count(rejected)} Nodes items are not valid nodes and were`} left out (the planner skips them too)`, true);
  if (nodes.length === 0) throw new UsageError('the deployment has no active nodes: register some (microbatch nodes add) or give --rates');
  return nodes;
}

/** Runs the advisor; what the command prints and writes. */
export async function runAdvise(options: AdviseOptions, context: CommandContext): Promise<void> {
  const globals = context.globals();
  const target: AdviseTarget = globals.local !== undefined && globals.stack === undefined ? 'local' : 'cloud';
  const { interval, batchSize, ...settings } = inputFrom(options, target);
  const input: AdviseInput = { ...settings, nodes: await nodesFrom(options, context) };
  const advice = advise(input, { ...(interval === undefined ? {} : { intervalSeconds: interval }), ...(batchSize === undefined ? {} : { batchSize }) });
  const chosen = advice.recommendation.point;
  const asked = interval !== undefined || batchSize !== undefined;
  const t = interval ?? chosen?.intervalSeconds;
  const b = batchSize ?? chosen?.batchSize;
  const evaluated = t !== undefined && b !== undefined ? analyzePoint(input, t, b) : null;
  if (options.html !== undefined) {
    writeFileSync(options.html, renderAdvicePage(input, advice));
    context.output().note(`wrote ${options.html}`);
  }
  context.output().result(adviceJson(input, advice, evaluated), () => adviceText(input, advice, evaluated, asked));
}

export const registerAdvise: RegisterCommand = (program: Command, context) => {
  program
    .command('advise')
    .description('choose the interval t and the microbatch size b: per-node convergence and lag, requests and monthly cost, the feasible region, a recommendation')
    .addOption(new Option('--rates <list>', 'node rates in updates/s, comma-separated (e.g. 2,5,10)'))
    .addOption(new Option('--rates-file <file>', 'node rates: JSON ([2,5] or [{"nodeId","rate"}] or {"n-1":2}), CSV (nodeId,rate) or one rate per line; - for stdin'))
    .addOption(new Option('--ingest-rate <n>', 'average updates per second appended to the log (required)'))
    .addOption(new Option('--target-lag <seconds>', 'the staleness every converging node must stay within (default: none, the cheapest point, the least stale within 1 %)'))
    .addOption(new Option('--interval <seconds>', 'evaluate this t (whole minutes ≥ 60 for a stack)'))
    .addOption(new Option('--batch-size <n>', 'evaluate this b (1–10,000)'))
    .addOption(new Option('--backlog <updates>', `backlog whose catch-up time is reported (default: ${DEFAULT_BACKLOG_SECONDS / 60} minutes of ingest)`))
    .addOption(new Option('--price <key=value>', 'override a price (USD per its unit); repeatable').argParser((value: string, previous: readonly string[]) => [...previous, value]).default([]))
    .addOption(new Option('--update-bytes <n>', `size of a log entry / replica item (default ${DEFAULT_WORKLOAD.updateBytes})`))
    .addOption(new Option('--node-item-bytes <n>', `size of a Nodes item (default ${DEFAULT_WORKLOAD.nodeItemBytes})`))
    .addOption(new Option('--apply-ms-per-update <ms>', `applier time per update (default ${DEFAULT_WORKLOAD.applyMsPerUpdate}; measure it: applier Duration / updates)`))
    .addOption(new Option('--apply-ms-per-microbatch <ms>', `applier time per microbatch besides its updates (default ${DEFAULT_WORKLOAD.applyMsPerMicrobatch})`))
    .addOption(new Option('--applier-concurrency <n>', "the applier event source's maximum concurrency (default: cdk.json's applierMaxConcurrency)"))
    .addOption(new Option('--applier-timeout <seconds>', "the applier's timeout (default: cdk.json's applierTimeoutSeconds)"))
    .addOption(new Option('--nodes-per-shard <n>', "nodes one planner or checker shard takes (default: cdk.json's nodesPerShard)"))
    .addOption(new Option('--nodes-per-segment <n>', "nodes per Scan segment and plan record (default: cdk.json's nodesPerSegment)"))
    .addOption(new Option('--shards <n>', "a fixed shard count, 0 to derive it from the fleet (default: cdk.json's shards)"))
    .addOption(new Option('--html <file>', 'also write a page drawing lag and cost against t and b'))
    .action(async (options: AdviseOptions) => runAdvise(options, context));
};
