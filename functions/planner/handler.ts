/**
 * Planner λ (the coordinator): on each scheduled tick, fixes interval k's plan header — H_k and the
 * cut of the fleet into S shards over B Scan segments — and sends one task per shard; the planner
 * shards plan the nodes (DESIGN §5).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { DynamoClockStore } from '#shared/adapters/dynamodb/clock-store.ts';
import { DynamoConvergenceStore } from '#shared/adapters/dynamodb/convergence-store.ts';
import { DynamoLogHead } from '#shared/adapters/dynamodb/log-head.ts';
import { DynamoTableSize } from '#shared/adapters/dynamodb/table-size.ts';
import { SqsTaskQueue } from '#shared/adapters/sqs/task-queue.ts';
import { createDocumentClient, createSqsClient } from '#shared/clients.ts';
import { loadEndpoints, loadResources, loadSettings } from '#shared/config.ts';
import { parseScheduledEvent, type ScheduledTick } from '#shared/domain/scheduled-event.ts';
import type { PlanTask } from '#shared/domain/shard-task.ts';
import { METRIC } from '#shared/metrics.ts';
import { validateEvent } from '#shared/middleware.ts';
import { addCounts, logger, metrics } from '#shared/observability.ts';
import { startPlan, type StartPlanDeps, type StartPlanResult } from '#shared/usecases/start-plan.ts';

const settings = loadSettings();
const resources = loadResources(['logTable', 'nodesTable', 'convergenceTable', 'planTaskQueueUrl']);
const endpoints = loadEndpoints();
const doc = createDocumentClient({ endpoint: endpoints.dynamodb });
const deps: StartPlanDeps = {
  stream: settings.stream,
  intervalSeconds: settings.intervalSeconds,
  retentionDays: settings.retentionDays,
  sharding: settings,
  log: new DynamoLogHead(doc, resources.logTable),
  nodes: new DynamoTableSize(doc, resources.nodesTable),
  convergence: new DynamoConvergenceStore(doc, resources.convergenceTable),
  clock: new DynamoClockStore(doc, resources.convergenceTable),
  tasks: new SqsTaskQueue<PlanTask>(createSqsClient({ endpoint: endpoints.sqs }), resources.planTaskQueueUrl),
};

async function plan({ scheduledTime }: ScheduledTick): Promise<StartPlanResult> {
  // A retried tick finds the header of the first run and sends its tasks again: the shards plan once.
  const result = await startPlan({ scheduledTime }, deps);
  logger.appendKeys({ interval: result.interval });
  if (result.kind === 'stale') {
    addCounts({ [METRIC.StaleTicks]: 1 });
    logger.warn(
      result.reason === 'superseded' ? 'a tick older than the newest planned one: not planned' : "a tick the checker's window has closed past: not planned, it could never be judged",
      { ...result },
    );
    return result;
  }
  addCounts({ [METRIC.PlanShards]: result.shards, [METRIC.StaleTicks]: 0 });
  if (result.clockStarted !== undefined) logger.info('intervalSeconds changed: the interval clock starts a new epoch at this tick', { epoch: result.clockStarted });
  logger.info('interval cut into shards', { ...result });
  return result;
}

export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(validateEvent(parseScheduledEvent))
  .handler((tick: ScheduledTick) => plan(tick));
