/**
 * Checker λ (the coordinator): on each scheduled tick, decides which open intervals are judged,
 * expires those that cannot be, fixes it all in the tick's check header and sends one task per
 * checker shard; the shard that completes the tick writes the verdicts (DESIGN §7).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { chunk } from '#shared/adapters/batching.ts';
import { DynamoCheckStore } from '#shared/adapters/dynamodb/check-store.ts';
import { DynamoClockStore } from '#shared/adapters/dynamodb/clock-store.ts';
import { DynamoConvergenceStore } from '#shared/adapters/dynamodb/convergence-store.ts';
import { DynamoLogHead } from '#shared/adapters/dynamodb/log-head.ts';
import { DynamoTableSize } from '#shared/adapters/dynamodb/table-size.ts';
import { SqsTaskQueue } from '#shared/adapters/sqs/task-queue.ts';
import { createDocumentClient, createSqsClient } from '#shared/clients.ts';
import { loadEndpoints, loadResources, loadSettings } from '#shared/config.ts';
import { parseScheduledEvent, type ScheduledTick } from '#shared/domain/scheduled-event.ts';
import type { CheckTask } from '#shared/domain/shard-task.ts';
import { METRIC } from '#shared/metrics.ts';
import { validateEvent } from '#shared/middleware.ts';
import { addCounts, logger, metrics } from '#shared/observability.ts';
import { startCheck, type StartCheckDeps, type StartCheckResult } from '#shared/usecases/start-check.ts';

/** Intervals per log line of a full list. */
const LOG_CHUNK = 100;

const settings = loadSettings();
const resources = loadResources(['logTable', 'nodesTable', 'convergenceTable', 'checkTaskQueueUrl']);
const endpoints = loadEndpoints();
const doc = createDocumentClient({ endpoint: endpoints.dynamodb });
const deps: StartCheckDeps = {
  stream: settings.stream,
  intervalSeconds: settings.intervalSeconds,
  openIntervals: settings.openIntervals,
  sharding: settings,
  log: new DynamoLogHead(doc, resources.logTable),
  nodes: new DynamoTableSize(doc, resources.nodesTable),
  convergence: new DynamoConvergenceStore(doc, resources.convergenceTable),
  checks: new DynamoCheckStore(doc, resources.convergenceTable),
  clock: new DynamoClockStore(doc, resources.convergenceTable),
  tasks: new SqsTaskQueue<CheckTask>(createSqsClient({ endpoint: endpoints.sqs }), resources.checkTaskQueueUrl),
};

async function check({ scheduledTime: now }: ScheduledTick): Promise<StartCheckResult> {
  // Judge as of the tick, not of the invocation: a retried event gives the same verdict.
  const result = await startCheck({ now }, deps);
  logger.appendKeys({ interval: result.interval });
  addCounts({
    [METRIC.IntervalsExpired]: result.expired.length,
    [METRIC.IncompletePlans]: result.incomplete.length,
    [METRIC.UnmergedChecks]: result.unmergedTick === undefined ? 0 : 1,
  });
  logger.info('tick cut into shards', { ...result });
  for (const intervals of chunk(result.expired, LOG_CHUNK)) {
    logger.warn('intervals left the open window without converging: expired, never judged again', { intervals });
  }
  for (const intervals of chunk(result.incomplete, LOG_CHUNK)) {
    logger.warn('intervals whose plan was never whole (a planner shard gave up or never reported): closed unjudged', { intervals });
  }
  if (result.unmergedTick !== undefined) logger.warn('a check tick whose shards never all reported: its verdicts were not written', { tick: result.unmergedTick });
  return result;
}

export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(validateEvent(parseScheduledEvent))
  .handler((tick: ScheduledTick) => check(tick));
