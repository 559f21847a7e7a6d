/**
 * Checker shard λ: one task per invocation from the check task queue — judges the nodes of the
 * shard's Scan segments against every head of the tick, stores the partial tally and counts itself
 * in; the shard that completes the tick merges the partials and writes the verdicts (DESIGN §7).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { chunk } from '#shared/adapters/batching.ts';
import { DynamoCheckStore } from '#shared/adapters/dynamodb/check-store.ts';
import { DynamoConvergenceStore } from '#shared/adapters/dynamodb/convergence-store.ts';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { createDocumentClient } from '#shared/clients.ts';
import { loadEndpoints, loadResources, loadSettings } from '#shared/config.ts';
import type { RejectedNode } from '#shared/domain/node.ts';
import type { CheckTask } from '#shared/domain/shard-task.ts';
import { METRIC } from '#shared/metrics.ts';
import { addCounts, logger, metrics } from '#shared/observability.ts';
import { runTasks } from '#shared/task-records.ts';
import { checkShard, type CheckShardDeps, type NamedNodes, type TickVerdicts } from '#shared/usecases/check-shard.ts';

/**
 * Entries per log line of a full list: 100 node ids of 64 characters with their numbers are ~14 KB,
 * far below the 256 KB of one CloudWatch Logs event, whatever the fleet's size.
 */
const LOG_CHUNK = 100;

const settings = loadSettings();
const resources = loadResources(['logTable', 'nodesTable', 'convergenceTable']);
const doc = createDocumentClient({ endpoint: loadEndpoints().dynamodb });
const deps: CheckShardDeps = {
  stream: settings.stream,
  intervalSeconds: settings.intervalSeconds,
  reportTopN: settings.reportTopN,
  log: new DynamoLogStore(doc, resources.logTable),
  nodes: new DynamoNodeRepository(doc, resources.nodesTable),
  convergence: new DynamoConvergenceStore(doc, resources.convergenceTable),
  checks: new DynamoCheckStore(doc, resources.convergenceTable),
  // The verdicts name the first reportTopN of each list; every node goes to the log.
  onNamed: ({ integrityFailures, underProvisioned }: NamedNodes): void => {
    for (const nodes of chunk(integrityFailures, LOG_CHUNK)) logger.error('nodes whose chain differs from the log: their data differs', { nodes });
    for (const nodes of chunk(underProvisioned, LOG_CHUNK)) {
      logger.warn('nodes too slow for the ingest rate: they cannot converge while ingest goes on', { nodes });
    }
  },
  onRejected: (rejected: readonly RejectedNode[]): void => {
    for (const items of chunk(rejected, LOG_CHUNK)) logger.error('Nodes items that are not valid nodes: skipped, every other node is judged', { rejected: items });
  },
};

/** The tick's convergence metrics and verdict logs: emitted once, by the shard that merged it. */
function report(verdicts: TickVerdicts): void {
  const { current, latest } = verdicts;
  metrics.addMetric(METRIC.ConvergenceLagSeconds, MetricUnit.Seconds, current.maxStalenessSeconds);
  addCounts({
    [METRIC.LaggingNodes]: current.activeNodes - current.consistentNodes,
    [METRIC.MaxLagUpdates]: current.maxLagUpdates,
    [METRIC.IntegrityFailedNodes]: current.integrityFailureCount,
    [METRIC.UnderProvisionedNodes]: current.underProvisionedCount,
    // Emitted only once an interval has been judged.
    [METRIC.Converged]: latest === undefined ? undefined : latest.converged ? 1 : 0,
  });
  for (const verdict of verdicts.evaluated) {
    const log = verdict.converged ? logger.info.bind(logger) : logger.warn.bind(logger);
    log(verdict.converged ? 'interval converged' : 'interval not converged', { verdict });
  }
  if (verdicts.superseded.length > 0) {
    logger.info('verdicts not written: another checker run wrote on these intervals after this tick read them', { intervals: verdicts.superseded });
  }
}

async function check(task: CheckTask): Promise<void> {
  const result = await checkShard(task, deps);
  // Summed over the tick: a redelivered stale task that finds its shard counted adds 0.
  addCounts({ [METRIC.ShardTasksExpired]: result.expired && result.counted ? 1 : 0 });
  if (result.expired) logger.warn('check task arrived after a later tick: counted as expired, the tick is not merged', { ...result });
  else logger.info('shard judged', { interval: result.interval, shard: result.shard, counted: result.counted, activeNodes: result.activeNodes, merged: result.merged !== undefined });
  if (result.merged !== undefined) report(result.merged);
}

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler((event: SQSEvent) => runTasks(event, 'check', check));
