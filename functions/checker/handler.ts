/**
 * Checker λ: on each scheduled tick, records whether the nodes have converged to the heads earlier
 * intervals were planned against, who lags and by how much, verified by the hash chain (DESIGN §7).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { chunk } from '#shared/adapters/batching.ts';
import { DynamoConvergenceStore } from '#shared/adapters/dynamodb/convergence-store.ts';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { createDocumentClient } from '#shared/clients.ts';
import { loadEndpoints, loadResources, loadSettings } from '#shared/config.ts';
import { intervalIndex } from '#shared/domain/interval.ts';
import type { RejectedNode } from '#shared/domain/node.ts';
import { parseScheduledEvent, type ScheduledTick } from '#shared/domain/scheduled-event.ts';
import { METRIC } from '#shared/metrics.ts';
import { validateEvent } from '#shared/middleware.ts';
import { addCounts, logger, metrics } from '#shared/observability.ts';
import { checkConvergence, type CheckConvergenceResult, type NamedNodes } from '#shared/usecases/check-convergence.ts';

/**
 * Entries per log line of a full list: 100 node ids of 64 characters with their numbers are ~14 KB,
 * far below the 256 KB of one CloudWatch Logs event, whatever the fleet's size.
 */
const LOG_CHUNK = 100;

const settings = loadSettings();
const tables = loadResources(['logTable', 'nodesTable', 'convergenceTable']);
const doc = createDocumentClient({ endpoint: loadEndpoints().dynamodb });
const deps = {
  stream: settings.stream,
  intervalSeconds: settings.intervalSeconds,
  openIntervals: settings.openIntervals,
  reportTopN: settings.reportTopN,
  log: new DynamoLogStore(doc, tables.logTable),
  nodes: new DynamoNodeRepository(doc, tables.nodesTable),
  convergence: new DynamoConvergenceStore(doc, tables.convergenceTable),
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

async function check({ scheduledTime: now }: ScheduledTick): Promise<CheckConvergenceResult> {
  // Judge as of the tick, not of the invocation: a retried event gives the same verdict.
  const interval = intervalIndex(now, settings.intervalSeconds);
  logger.appendKeys({ interval });
  const result = await checkConvergence({ interval, now }, deps);
  const { current, latest } = result;
  metrics.addMetric(METRIC.ConvergenceLagSeconds, MetricUnit.Seconds, current.maxStalenessSeconds);
  addCounts({
    [METRIC.LaggingNodes]: current.activeNodes - current.consistentNodes,
    [METRIC.MaxLagUpdates]: current.maxLagUpdates,
    [METRIC.IntegrityFailedNodes]: current.integrityFailureCount,
    [METRIC.UnderProvisionedNodes]: current.underProvisionedCount,
    // Emitted only once an interval has been judged.
    [METRIC.Converged]: latest === undefined ? undefined : latest.converged ? 1 : 0,
    [METRIC.RejectedNodes]: result.rejectedNodes,
    [METRIC.IntervalsExpired]: result.expired.length,
  });

  for (const verdict of result.evaluated) {
    const log = verdict.converged ? logger.info.bind(logger) : logger.warn.bind(logger);
    log(verdict.converged ? 'interval converged' : 'interval not converged', { verdict });
  }
  for (const intervals of chunk(result.expired, LOG_CHUNK)) {
    logger.warn('intervals left the open window without converging: expired, never judged again', { intervals });
  }
  if (result.superseded.length > 0) {
    logger.info('verdicts not written: another checker run wrote on these intervals after this one read them', { intervals: result.superseded });
  }
  return result;
}

export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(validateEvent(parseScheduledEvent))
  .handler((tick: ScheduledTick) => check(tick));
