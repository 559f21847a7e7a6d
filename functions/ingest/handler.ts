/**
 * Ingest λ: producers invoke it directly with `{ updates, idempotencyKey? }` to append to the log
 * (DESIGN §4). Invalid input is rejected whole; with an idempotency key a retried request appends
 * only what its earlier attempts did not commit, and returns the same result.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { createDocumentClient } from '#shared/clients.ts';
import { loadEndpoints, loadResources, loadSettings } from '#shared/config.ts';
import { parseIngestRequest, type IngestRequest } from '#shared/domain/schemas.ts';
import { METRIC } from '#shared/metrics.ts';
import { validateEvent } from '#shared/middleware.ts';
import { addCounts, logger, metrics } from '#shared/observability.ts';
import { appendUpdates, type AppendResult, type AppendUpdatesDeps } from '#shared/usecases/append-updates.ts';

const settings = loadSettings();
const tables = loadResources(['logTable', 'ingestRequestsTable']);
const deps: AppendUpdatesDeps = {
  stream: settings.stream,
  log: new DynamoLogStore(createDocumentClient({ endpoint: loadEndpoints().dynamodb }), tables.logTable, { ingestRequestsTable: tables.ingestRequestsTable }),
  idempotencyWindowSeconds: settings.idempotencyWindowHours * 3600,
  now: () => new Date(),
  sleep: (ms: number) => sleep(ms),
  random: Math.random,
};

async function ingest(request: IngestRequest): Promise<AppendResult> {
  if (request.idempotencyKey !== undefined) logger.appendKeys({ idempotencyKey: request.idempotencyKey });
  const result = await appendUpdates(request, deps);
  addCounts({
    [METRIC.UpdatesIngested]: result.appended,
    [METRIC.UpdatesReplayed]: result.replayed,
    [METRIC.AppendRetries]: result.retries,
  });
  logger.info('appended updates', { ...result });
  return result;
}

export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(validateEvent(parseIngestRequest))
  .handler(ingest);
