/**
 * What `microbatch advise` prints for a person, and the whole analysis as `--json` has it.
 */
import { table } from '../output.ts';
import type { AdviseInput, PointAnalysis } from './model.ts';
import { describePrices, PRICE_SOURCE, PRICES, PRICE_KEYS } from './prices.ts';
import type { Advice } from './recommend.ts';

/** Nodes listed in the table before "… and N more" (`--json` has them all). */
const NODE_ROWS = 20;

const MONEY = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
const NUMBER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const num = (value: number | null): string => (value === null ? 'never' : NUMBER.format(value));

/** The analysis as `--json` prints it: inputs, prices, recommendation, the point looked at, and the region. */
export function adviceJson(input: AdviseInput, advice: Advice, evaluated: PointAnalysis | null) {
  const { recommendation } = advice;
  return {
    input: {
      nodes: input.nodes,
      ingestRate: input.ingestRate,
      targetLagSeconds: input.targetLagSeconds,
      backlogUpdates: input.backlogUpdates,
      backlogSeconds: input.backlogSeconds ?? null,
      target: input.target,
      workload: input.workload,
      applier: input.applier,
      sharding: input.sharding,
    },
    prices: { ...PRICE_SOURCE, items: describePrices(input.prices) },
    recommendation: {
      intervalSeconds: recommendation.point?.intervalSeconds ?? null,
      batchSize: recommendation.point?.batchSize ?? null,
      meetsTargetLag: recommendation.meetsTargetLag,
      monthlyUsd: recommendation.point?.monthly.totalUsd ?? null,
      reasons: recommendation.reasons,
    },
    evaluated,
    region: advice.points.map((point) => ({
      intervalSeconds: point.intervalSeconds,
      batchSize: point.batchSize,
      feasible: point.feasible,
      meetsTargetLag: point.meetsTargetLag,
      maxLagSeconds: point.maxLagSeconds,
      monthlyUsd: point.monthly.totalUsd,
      broken: point.limits.filter((limit) => !limit.ok).map((limit) => limit.key),
    })),
  };
}

function nodeTable(point: PointAnalysis): string {
  const worstFirst = [...point.nodes].sort((a, b) => (b.lagSeconds ?? Number.POSITIVE_INFINITY) - (a.lagSeconds ?? Number.POSITIVE_INFINITY));
  const rows = worstFirst.slice(0, NODE_ROWS).map((node) => [
    node.nodeId,
    NUMBER.format(node.rate),
    node.share,
    node.canConverge ? 'yes' : node.share === point.ingestPerInterval ? 'NEVER (= ingest)' : 'NEVER',
    node.updatesPerInterval,
    node.tokensPerInterval,
    num(node.lagSeconds),
    node.catchUpIntervals === null ? 'never' : `${node.catchUpIntervals} (${num(node.catchUpSeconds)} s)`,
  ]);
  const more = point.nodes.length > NODE_ROWS ? `\n… and ${point.nodes.length - NODE_ROWS} more nodes (--json lists them all)` : '';
  return table(['node', 'rate /s', 'share ceil(r·t)', 'converges', 'updates /interval', 'tokens /interval', 'staleness s (worst)', 'catch-up intervals (s)'], rows) + more;
}

function requestTable(point: PointAnalysis): string {
  const { sqs, taskQueues, lambda, dynamodb, tokens, sharding } = point.requests;
  const reads = dynamodb.readUnits;
  const writes = dynamodb.writeUnits;
  return table(
    ['per interval', 'count'],
    [
      ['shards S (planner and checker each) over B Scan segments', `${sharding.shards} over ${sharding.segments}`],
      ['plan record of the fullest segment', `${NUMBER.format(sharding.planRecordBytes)} bytes`],
      ['tokens (microbatch messages)', tokens],
      ['SQS SendMessageBatch = ceil(tokens / 10)', sqs.sendMessageBatch],
      ['SQS ReceiveMessage (batches + idle long polls)', sqs.receiveMessage],
      ['SQS DeleteMessageBatch (one per applier batch)', sqs.deleteMessageBatch],
      ['SQS task queues: send, receive (tasks + idle polls), delete', `${taskQueues.sendMessageBatch} + ${taskQueues.receiveMessage} + ${taskQueues.deleteMessageBatch}`],
      ['Lambda planner + checker coordinators', lambda.plannerInvocations + lambda.checkerInvocations],
      ['Lambda planner + checker shards', lambda.plannerShardInvocations + lambda.checkerShardInvocations],
      ['Lambda applier invocations (≤ 10 messages each)', lambda.applierInvocations],
      ['Lambda GB-seconds', NUMBER.format(lambda.gbSeconds)],
      ['DynamoDB RRU applier (node reads, Log queries)', reads.applier],
      ['DynamoDB RRU planner (head, headers, plan records, segment scans)', reads.planner],
      ['DynamoDB RRU checker (head, headers, scans, chain links, partials)', reads.checker],
      ['DynamoDB WRU replica writes (one per update)', writes.replica],
      ['DynamoDB WRU cursor moves (one per microbatch)', writes.cursor],
      ['DynamoDB WRU planner (header, reports, a record per segment)', writes.planner],
      ['DynamoDB WRU checker (header, partials, reports, verdict)', writes.checker],
      ['DynamoDB WRU ingest (2 per update, any t and b)', NUMBER.format(writes.ingest)],
    ],
  );
}

function costTable(point: PointAnalysis): string {
  const rows = PRICE_KEYS.map((key) => [PRICES[key].name, MONEY.format(point.monthly.usd[key])]);
  return table(['per month (730 h)', 'USD'], [...rows, ['total (requests and compute; not storage, metrics, alarms)', MONEY.format(point.monthly.totalUsd)]]);
}

function regionTable(advice: Advice): string {
  const cell = (point: PointAnalysis | undefined): string => {
    if (point === undefined) return '';
    if (!point.feasible) return '×';
    return point.meetsTargetLag ? MONEY.format(point.monthly.totalUsd) : 'lag';
  };
  const at = new Map(advice.points.map((point) => [`${point.intervalSeconds}:${point.batchSize}`, point]));
  return table(
    ['t \\ b', ...advice.grid.batchSizes.map(String)],
    advice.grid.intervals.map((t) => [`${t} s`, ...advice.grid.batchSizes.map((b) => cell(at.get(`${t}:${b}`)))]),
  );
}

/** Where a default backlog comes from, for the line that names it. */
function backlogOrigin(input: AdviseInput): string {
  if (input.backlogSeconds === undefined) return '';
  return ` (by default ${NUMBER.format(input.backlogSeconds / 60)} minutes of ingest at ${NUMBER.format(input.ingestRate)}/s; --backlog N for another)`;
}

/** Everything a person reads: prices, the recommendation, the point in detail, the feasible region. */
export function adviceText(input: AdviseInput, advice: Advice, evaluated: PointAnalysis | null, asked: boolean): string {
  const prices = describePrices(input.prices);
  const sections = [
    `Prices: ${PRICE_SOURCE.region}, ${PRICE_SOURCE.kind}, as of ${PRICE_SOURCE.takenOn} (override with --price key=value)`,
    table(['key', 'price', 'USD', 'unit', 'taken on'], prices.map((price) => [price.key, `${price.name}${price.overridden ? ' (overridden)' : ''}`, String(price.usd), price.unit, price.takenOn])),
    '',
    advice.recommendation.point === null
      ? 'No recommendation: no (t, b) meets every limit.'
      : `Recommended: t = ${advice.recommendation.point.intervalSeconds} s, b = ${advice.recommendation.point.batchSize}`,
    ...advice.recommendation.reasons.map((reason) => `  ${reason}`),
  ];
  if (evaluated !== null) {
    sections.push(
      '',
      `${asked ? 'As asked' : 'At the recommendation'}: t = ${evaluated.intervalSeconds} s, b = ${evaluated.batchSize}, ingest ${NUMBER.format(input.ingestRate)}/s = ${NUMBER.format(evaluated.ingestPerInterval)} per interval; catch-up from a backlog of ${NUMBER.format(input.backlogUpdates)} updates${backlogOrigin(input)}`,
      nodeTable(evaluated),
      requestTable(evaluated),
      costTable(evaluated),
      table(['limit', 'ok', 'detail'], evaluated.limits.map((limit) => [limit.key, limit.ok ? 'ok' : 'BROKEN', limit.detail])),
    );
  }
  sections.push(
    '',
    input.targetLagSeconds === null
      ? 'Feasible region: monthly cost where every limit is met; ×: breaks a limit (--json: every point)'
      : `Feasible region: monthly cost where every limit and the ${NUMBER.format(input.targetLagSeconds)} s target are met; lag: misses the target; ×: breaks a limit (--json: every point)`,
    regionTable(advice),
  );
  return sections.join('\n');
}
