/**
 * Ingest λ: producers invoke it directly with `{ updates, idempotencyKey? }` to append to the log
 * (DESIGN §4). Invalid input is rejected whole; with an idempotency key a retried request returns
 * the first result instead of appending again.
 */
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { createDocumentClient, createDynamoClient } from '#shared/clients.ts';
import { loadEndpoints, loadResources, loadSettings } from '#shared/config.ts';
import { ingestRequestSchema, type IngestRequest } from '#shared/domain/schemas.ts';
import { validateEvent } from '#shared/middleware.ts';
import { logger, metrics } from '#shared/observability.ts';
import { appendUpdates, type AppendResult } from '#shared/usecases/append-updates.ts';

const settings = loadSettings();
const tables = loadResources(['logTable', 'idempotencyTable']);
const client = createDynamoClient({ endpoint: loadEndpoints().dynamodb });
const deps = {
  stream: settings.stream,
  log: new DynamoLogStore(createDocumentClient({ client }), tables.logTable),
  now: () => new Date(),
  sleep: (ms: number) => sleep(ms),
  random: Math.random,
};
const idempotency = {
  persistenceStore: new DynamoDBPersistenceLayer({ tableName: tables.idempotencyTable, awsSdkV3Client: client }),
  config: new IdempotencyConfig({
    eventKeyJmesPath: 'idempotencyKey',
    // The same key with other updates is a producer bug: fail it rather than return the first result.
    payloadValidationJmesPath: 'updates',
    throwOnNoIdempotencyKey: false,
  }),
};

async function ingest(request: IngestRequest): Promise<AppendResult> {
  const result = await appendUpdates(request, deps);
  metrics.addMetric('UpdatesIngested', MetricUnit.Count, result.updates);
  metrics.addMetric('AppendRetries', MetricUnit.Count, result.retries);
  logger.info('appended updates', { ...result });
  return result;
}

/**
 * The function wrapper, not the `makeHandlerIdempotent` middleware: in Powertools 2.35 the
 * middleware's onError deletes the record even when its own `before` turned the request away (a
 * duplicate still in progress, or the same key with other updates), so the next retry appends again
 * (aws-powertools/powertools-lambda-typescript#5675). The wrapper deletes only a record it acquired.
 */
const idempotentIngest = makeIdempotent((request: IngestRequest, _context: Context) => ingest(request), idempotency);

export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(validateEvent(ingestRequestSchema, 'ingest request'))
  .handler((request: IngestRequest, context: Context) => idempotentIngest(request, context));
