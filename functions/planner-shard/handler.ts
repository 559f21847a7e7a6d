/**
 * Planner shard λ: one task per invocation from the plan task queue — plans the nodes of the
 * shard's Scan segments against H_k, sends their microbatches, records each segment's plan and
 * reports the shard's totals to the plan header once (DESIGN §5).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DynamoPlanHeaders } from '#shared/adapters/dynamodb/plan-headers.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { DynamoPlanLedger } from '#shared/adapters/dynamodb/plan-ledger.ts';
import { SqsMicrobatchQueue } from '#shared/adapters/sqs/microbatch-queue.ts';
import { SqsTaskQueue } from '#shared/adapters/sqs/task-queue.ts';
import { createDocumentClient, createSqsClient } from '#shared/clients.ts';
import { loadEndpoints, loadResources, loadSettings } from '#shared/config.ts';
import type { RejectedNode } from '#shared/domain/node.ts';
import type { UnsentMicrobatch } from '#shared/domain/ports.ts';
import { retryDelaySeconds, type PlanTask } from '#shared/domain/shard-task.ts';
import { NO_PLAN_TOTALS } from '#shared/domain/types.ts';
import { METRIC } from '#shared/metrics.ts';
import { addCounts, logger, metrics } from '#shared/observability.ts';
import { runTasks } from '#shared/task-records.ts';
import { planShard, type PlanShardDeps } from '#shared/usecases/plan-shard.ts';

const settings = loadSettings();
const resources = loadResources(['nodesTable', 'plansTable', 'convergenceTable', 'queueUrl', 'planTaskQueueUrl']);
const endpoints = loadEndpoints();
const doc = createDocumentClient({ endpoint: endpoints.dynamodb });
const sqs = createSqsClient({ endpoint: endpoints.sqs });
const tasks = new SqsTaskQueue<PlanTask>(sqs, resources.planTaskQueueUrl);
const deps: PlanShardDeps = {
  rules: settings,
  retentionDays: settings.retentionDays,
  nodes: new DynamoNodeRepository(doc, resources.nodesTable),
  ledger: new DynamoPlanLedger(doc, resources.plansTable),
  queue: new SqsMicrobatchQueue(sqs, resources.queueUrl),
  convergence: new DynamoPlanHeaders(doc, resources.convergenceTable),
  onRejected: (rejected: readonly RejectedNode[]): void => {
    logger.error('Nodes items that are not valid nodes: skipped, every other node is planned', { rejected });
  },
  onUnsent: (unsent: readonly UnsentMicrobatch[]): void => {
    logger.error('tokens SQS refused after retries: their nodes keep their plan and are planned again next interval', {
      unsent: unsent.map(({ microbatch, code, message }) => ({ nodeId: microbatch.nodeId, index: microbatch.index, code, message })),
    });
  },
};

async function plan(task: PlanTask): Promise<void> {
  const result = await planShard(task, deps);
  // The dashboards sum these over the interval, so only the run that counted the shard in its header
  // counts its work: a redelivered task, or a retried tick's copy of it, adds zeros, as it does to the header.
  const counted = result.reported;
  const totals = counted ? result.totals : NO_PLAN_TOTALS;
  addCounts({
    [METRIC.NodesPlanned]: totals.nodesPlanned,
    [METRIC.MicrobatchesPlanned]: totals.microbatches,
    [METRIC.UpdatesPlanned]: totals.updatesPlanned,
    [METRIC.TokensResent]: totals.resends,
    [METRIC.RejectedNodes]: totals.rejectedNodes,
    [METRIC.UnsentNodes]: totals.unsentNodes,
    [METRIC.NodesWithoutPlanHistory]: counted ? result.withoutHistory : 0,
    [METRIC.SpilledNodes]: counted ? result.spilled : 0,
    [METRIC.ShardTasksExpired]: counted && result.expired ? 1 : 0,
  });
  if (result.expired) logger.warn('plan task arrived after a later tick cut the work again: acknowledged without work, the interval is incomplete', { ...result });
  else logger.info('shard planned', { ...result });
}

/** A failed task comes back within the interval (5 s, then 10 s), not after the queue's visibility timeout, when it would be stale. */
async function retrySoon(record: SQSRecord): Promise<void> {
  const seconds = retryDelaySeconds(Number(record.attributes.ApproximateReceiveCount), settings.intervalSeconds);
  await tasks.retryIn(record.receiptHandle, seconds);
  logger.info('failed plan task retried within the interval', { messageId: record.messageId, inSeconds: seconds });
}

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler((event: SQSEvent) => runTasks(event, 'plan', plan, { onFailure: retrySoon }));
