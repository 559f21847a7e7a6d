/**
 * The planner at fleet scale: 100,000 nodes planned through the real use case and the real DynamoDB
 * and SQS adapters, against clients whose every call takes 10 ms (DESIGN's budget: planned and
 * judged within half an interval, t = 60 s). Measured in one run:
 *
 *   - the pure planning CPU (planNode over every node, no I/O): the "< 1 s CPU" budget;
 *   - the whole planInterval: wall time, CPU time, peak heap, SendMessageBatch calls against
 *     ceil(tokens / 10), claims.
 *
 *   npm run bench:planner [-- --nodes 100000 --latency-ms 10 --json]
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, type SendMessageBatchCommandInput, type SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient, type ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import { Command, InvalidArgumentError } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoConvergenceStore } from '#shared/adapters/dynamodb/convergence-store.ts';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { SqsMicrobatchQueue } from '#shared/adapters/sqs/microbatch-queue.ts';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { readNodeItem } from '#shared/domain/node.ts';
import { planNode, type PlanningRules } from '#shared/domain/plan.ts';
import { planInterval } from '#shared/usecases/plan-interval.ts';
import { seededRandom } from '../../local/random.ts';

const T = 60;
const RULES: PlanningRules = { stream: 'main', intervalSeconds: T, batchSize: 100, maxInFlightIntervals: 2, staleAfterIntervals: 3 };
const INTERVAL = 29_933_600;
const HEAD = 10_000_000;
/** A DynamoDB Scan page holds at most 1 MB: about 3,000 Nodes items of ~300 bytes. */
const SCAN_PAGE_ITEMS = 3_000;

interface Options {
  readonly nodes: number;
  readonly latencyMs: number;
  readonly json: boolean;
}

function wholeNumber(name: string): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0`);
    return value;
  };
}

/** Nodes items with rates of 1–8 updates/s (shares of 60–480, 1–5 tokens each), caught up to a planned cursor. */
function nodeItems(count: number): Record<string, unknown>[] {
  const random = seededRandom(42);
  return Array.from({ length: count }, (_, index) => {
    const applied = Math.floor(random() * 1_000_000);
    return {
      nodeId: `node-${String(index).padStart(6, '0')}`,
      rate: 1 + Math.floor(random() * 70) / 10,
      status: 'active',
      appliedSeq: applied,
      appliedChain: GENESIS_CHAIN,
      plannedSeq: applied,
      plannedInterval: INTERVAL - 1,
      progressSeq: applied,
      progressInterval: INTERVAL - 1,
    };
  });
}

/** A document client whose every call waits `latencyMs`, serving the Nodes scan from memory. */
function slowDynamo(items: readonly Record<string, unknown>[], latencyMs: number, counts: Map<string, number>): DynamoDBDocumentClient {
  const send = async (command: unknown): Promise<unknown> => {
    const name = (command as object).constructor.name;
    counts.set(name, (counts.get(name) ?? 0) + 1);
    await sleep(latencyMs);
    if (command instanceof DescribeTableCommand) return { Table: { ItemCount: items.length } };
    if (command instanceof GetCommand) return { Item: { stream: 'main', seq: 0, head: HEAD, headChain: GENESIS_CHAIN } };
    if (command instanceof ScanCommand) return scanPage(items, command.input);
    if (command instanceof PutCommand || command instanceof UpdateCommand) return {};
    throw new Error(`the bench client does not serve ${name}`);
  };
  return { send } as unknown as DynamoDBDocumentClient;
}

function scanPage(items: readonly Record<string, unknown>[], input: ScanCommandInput): unknown {
  const segment = input.Segment ?? 0;
  const total = input.TotalSegments ?? 1;
  const start = Number(input.ExclusiveStartKey?.position ?? segment);
  const page: Record<string, unknown>[] = [];
  let position = start;
  for (; position < items.length && page.length < SCAN_PAGE_ITEMS; position += total) page.push(items[position] ?? {});
  return { Items: page, ...(position < items.length ? { LastEvaluatedKey: { position } } : {}) };
}

/** An SQS client whose every SendMessageBatch waits `latencyMs` and accepts every entry. */
function slowSqs(latencyMs: number, counts: Map<string, number>): SQSClient {
  const send = async (command: unknown): Promise<unknown> => {
    if (!(command instanceof SendMessageBatchCommand)) throw new Error('the bench client serves SendMessageBatch only');
    counts.set('SendMessageBatchCommand', (counts.get('SendMessageBatchCommand') ?? 0) + 1);
    await sleep(latencyMs);
    const input: SendMessageBatchCommandInput = command.input;
    return { Successful: (input.Entries ?? []).map((entry) => ({ Id: entry.Id, MessageId: 'm', MD5OfMessageBody: 'md5' })), Failed: [] };
  };
  return { send } as unknown as SQSClient;
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

export async function measure(options: Options): Promise<Record<string, number>> {
  const items = nodeItems(options.nodes);
  const plannedAt = new Date(INTERVAL * T * 1000).toISOString();

  // The pure decision, as the use case makes it per node: read the item, plan the node.
  const pureCpu = process.cpuUsage();
  let tokens = 0;
  for (const item of items) {
    const read = readNodeItem(item);
    if ('node' in read) {
      const decision = planNode(read.node, HEAD, INTERVAL, plannedAt, RULES);
      if (decision.kind === 'plan') tokens += decision.microbatches.length;
    }
  }
  const pureCpuMs = cpuMs(pureCpu);

  const counts = new Map<string, number>();
  const doc = slowDynamo(items, options.latencyMs, counts);
  const deps = {
    rules: RULES,
    retentionDays: 30,
    log: new DynamoLogStore(doc, 'Log'),
    nodes: new DynamoNodeRepository(doc, 'Nodes'),
    queue: new SqsMicrobatchQueue(slowSqs(options.latencyMs, counts), 'https://sqs.us-east-1.amazonaws.com/1/q.fifo'),
    convergence: new DynamoConvergenceStore(doc, 'Convergence'),
  };
  let peakHeap = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 50);
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const result = await planInterval({ interval: INTERVAL, plannedAt: new Date(plannedAt) }, deps);
  const wallMs = performance.now() - started;
  const useCaseCpuMs = cpuMs(cpu);
  clearInterval(sampler);

  const sendCalls = counts.get('SendMessageBatchCommand') ?? 0;
  return {
    nodes: options.nodes,
    latencyMs: options.latencyMs,
    tokens,
    pureCpuMs: Math.round(pureCpuMs),
    wallMs: Math.round(wallMs),
    cpuMs: Math.round(useCaseCpuMs),
    wallShareOfHalfInterval: Number((wallMs / ((T / 2) * 1000)).toFixed(3)),
    microbatches: result.microbatches,
    sendMessageBatchCalls: sendCalls,
    sendCallsOverMinimum: Number((sendCalls / Math.ceil(result.microbatches / 10)).toFixed(4)),
    claims: result.nodesPlanned,
    scanCalls: counts.get('ScanCommand') ?? 0,
    peakHeapGrowthMb: Math.round((peakHeap - heapBefore) / 1_048_576),
  };
}

async function main(): Promise<void> {
  const program = new Command('npm run bench:planner --')
    .option('--nodes <n>', 'nodes to plan', wholeNumber('--nodes'), 100_000)
    .option('--latency-ms <ms>', 'latency of every SDK call', wholeNumber('--latency-ms'), 10)
    .option('--json', 'print JSON')
    .parse();
  const raw = program.opts<{ nodes: number; latencyMs: number; json?: boolean }>();
  const numbers = await measure({ nodes: raw.nodes, latencyMs: raw.latencyMs, json: raw.json === true });
  if (raw.json === true) {
    process.stdout.write(`${JSON.stringify(numbers, null, 2)}\n`);
    return;
  }
  process.stdout.write(
    [
      `planner, ${numbers.nodes} nodes, every SDK call ${numbers.latencyMs} ms:`,
      `  pure planning (read + plan every node): ${numbers.pureCpuMs} ms CPU for ${numbers.tokens} tokens`,
      `  planInterval: ${numbers.wallMs} ms wall (${numbers.wallShareOfHalfInterval} of half an interval of ${T} s), ${numbers.cpuMs} ms CPU`,
      `  ${numbers.microbatches} tokens in ${numbers.sendMessageBatchCalls} SendMessageBatch calls (${numbers.sendCallsOverMinimum} × ceil(tokens / 10)), ${numbers.claims} claims, ${numbers.scanCalls} Scan pages`,
      `  peak heap growth ${numbers.peakHeapGrowthMb} MB`,
      '',
    ].join('\n'),
  );
}

await main();
