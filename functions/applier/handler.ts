/**
 * Applier ("node") λ: applies each SQS FIFO record's microbatch to its node's replica (DESIGN §6).
 * Records of one node (message group) run in order, the batch's nodes concurrently; a failing
 * node's later records are skipped and returned as failures, while other nodes go on.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { DynamoReplicaStore } from '#shared/adapters/dynamodb/replica-store.ts';
import { processFifoBatch } from '#shared/adapters/sqs/fifo-batch.ts';
import { createDocumentClient } from '#shared/clients.ts';
import { loadEndpoints, loadResources, loadSettings } from '#shared/config.ts';
import { IntegrityError } from '#shared/domain/errors.ts';
import { parseMicrobatch } from '#shared/domain/microbatch.ts';
import { METRIC } from '#shared/metrics.ts';
import { addCounts, logger, metrics } from '#shared/observability.ts';
import { applyMicrobatch, type ApplyOutcome } from '#shared/usecases/apply-microbatch.ts';

const settings = loadSettings();
const tables = loadResources(['logTable', 'nodesTable', 'replicaTable']);
const doc = createDocumentClient({ endpoint: loadEndpoints().dynamodb });
const deps = {
  stream: settings.stream,
  batchSize: settings.batchSize,
  log: new DynamoLogStore(doc, tables.logTable),
  nodes: new DynamoNodeRepository(doc, tables.nodesTable),
  replica: new DynamoReplicaStore(doc, tables.replicaTable),
  now: () => new Date(),
};

/** Per-invocation counts, added to the metrics once so each metric is one EMF value. */
interface Tally {
  applied: number;
  updatesApplied: number;
  replicaWrites: number;
  duplicates: number;
  unknownOrPaused: number;
  failed: number;
  integrityFailures: number;
}

function count(tally: Tally, outcome: ApplyOutcome): void {
  switch (outcome.kind) {
    case 'applied':
      tally.applied += 1;
      tally.updatesApplied += outcome.updates;
      tally.replicaWrites += outcome.written;
      return;
    case 'duplicate':
      tally.duplicates += 1;
      return;
    case 'unknown-node':
    case 'paused-node':
      tally.unknownOrPaused += 1;
  }
}

async function applyRecord(record: SQSRecord, tally: Tally): Promise<ApplyOutcome> {
  // The record's keys go on each of its log lines rather than on the logger: the records of other
  // nodes run at the same time, and keys appended to the one logger would land on their lines too.
  let keys: { messageId: string; nodeId?: string; interval?: number } = { messageId: record.messageId };
  try {
    const microbatch = parseMicrobatch(record.body);
    keys = { ...keys, nodeId: microbatch.nodeId, interval: microbatch.interval };
    const outcome = await applyMicrobatch(microbatch, deps);
    count(tally, outcome);
    logger.debug('microbatch done', { ...keys, outcome });
    if (outcome.kind === 'unknown-node' || outcome.kind === 'paused-node') {
      logger.warn('microbatch for a node that is not active: acknowledged', { ...keys, outcome: outcome.kind });
    }
    return outcome;
  } catch (error) {
    tally.failed += 1;
    if (error instanceof IntegrityError) tally.integrityFailures += 1;
    logger.error('microbatch failed: it will be retried, then dead-lettered', { ...keys, error });
    throw error;
  }
}

async function applyBatch(event: SQSEvent): Promise<SQSBatchResponse> {
  const tally: Tally = { applied: 0, updatesApplied: 0, replicaWrites: 0, duplicates: 0, unknownOrPaused: 0, failed: 0, integrityFailures: 0 };
  try {
    return await processFifoBatch(event.Records, (record) => applyRecord(record, tally));
  } finally {
    addCounts({
      [METRIC.MicrobatchesApplied]: tally.applied,
      [METRIC.UpdatesApplied]: tally.updatesApplied,
      [METRIC.ReplicaWrites]: tally.replicaWrites,
      [METRIC.DuplicatesSkipped]: tally.duplicates,
      [METRIC.InactiveNodeMicrobatches]: tally.unknownOrPaused,
      [METRIC.MicrobatchesFailed]: tally.failed,
      [METRIC.MicrobatchIntegrityFailures]: tally.integrityFailures,
    });
  }
}

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler((event: SQSEvent) => applyBatch(event));
