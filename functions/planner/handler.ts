/**
 * Planner λ: on each scheduled tick, gives every active node its share of the backlog as
 * microbatches on the FIFO queue (DESIGN §5).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { DynamoConvergenceStore } from '#shared/adapters/dynamodb/convergence-store.ts';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { SqsMicrobatchQueue } from '#shared/adapters/sqs/microbatch-queue.ts';
import { createDocumentClient, createSqsClient } from '#shared/clients.ts';
import { loadEndpoints, loadResources, loadSettings } from '#shared/config.ts';
import { PlanIncompleteError } from '#shared/domain/errors.ts';
import { intervalIndex } from '#shared/domain/interval.ts';
import type { RejectedNode } from '#shared/domain/node.ts';
import type { UnsentMicrobatch } from '#shared/domain/ports.ts';
import { parseScheduledEvent, type ScheduledTick } from '#shared/domain/scheduled-event.ts';
import { METRIC } from '#shared/metrics.ts';
import { validateEvent } from '#shared/middleware.ts';
import { addCounts, logger, metrics } from '#shared/observability.ts';
import { planInterval, type PlanIntervalResult } from '#shared/usecases/plan-interval.ts';

const settings = loadSettings();
const tables = loadResources(['logTable', 'nodesTable', 'convergenceTable', 'queueUrl']);
const endpoints = loadEndpoints();
const doc = createDocumentClient({ endpoint: endpoints.dynamodb });
const deps = {
  rules: settings,
  retentionDays: settings.retentionDays,
  log: new DynamoLogStore(doc, tables.logTable),
  nodes: new DynamoNodeRepository(doc, tables.nodesTable),
  queue: new SqsMicrobatchQueue(createSqsClient({ endpoint: endpoints.sqs }), tables.queueUrl),
  convergence: new DynamoConvergenceStore(doc, tables.convergenceTable),
  onRejected: (rejected: readonly RejectedNode[]): void => {
    logger.error('Nodes items that are not valid nodes: skipped, every other node is planned', { rejected });
  },
  onUnsent: (unsent: readonly UnsentMicrobatch[]): void => {
    logger.error('tokens SQS refused after retries: their nodes stay unclaimed and are planned again', {
      unsent: unsent.map(({ microbatch, code, message }) => ({ nodeId: microbatch.nodeId, index: microbatch.index, code, message })),
    });
  },
};

async function plan({ scheduledTime }: ScheduledTick): Promise<PlanIntervalResult> {
  const interval = intervalIndex(scheduledTime, settings.intervalSeconds);
  logger.appendKeys({ interval });
  const result = await planInterval({ interval, plannedAt: scheduledTime }, deps);
  addCounts({
    [METRIC.NodesPlanned]: result.nodesPlanned,
    [METRIC.MicrobatchesPlanned]: result.microbatches,
    [METRIC.UpdatesPlanned]: result.updatesPlanned,
    [METRIC.TokensResent]: result.resends,
    [METRIC.PlanClaimsLost]: result.claimsLost,
    [METRIC.RejectedNodes]: result.rejectedNodes,
    [METRIC.UnsentNodes]: result.unsentNodes,
  });
  logger.info('planned interval', { ...result });
  // Lambda's asynchronous retry runs the same interval against the same header: it plans the nodes
  // left unclaimed, re-sending their accepted tokens under the same deduplication ids.
  if (result.unsentNodes > 0) throw new PlanIncompleteError(`${result.unsentNodes} node(s) left unclaimed: SQS refused some of their tokens`);
  return result;
}

export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(validateEvent(parseScheduledEvent))
  .handler((tick: ScheduledTick) => plan(tick));
