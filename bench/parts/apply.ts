/**
 * Write units per applied update, counted from the requests the applier really makes: the real
 * use case (applyMicrobatch) and DynamoDB adapters against DynamoDB Local, every request recorded
 * (bench/request-recorder.ts) and charged by DynamoDB's rules (bench/capacity). Four ways to apply the same
 * 1,000 updates to a node, side by side in one run:
 *
 *   - microbatch: b = 100, every key distinct — one conditional put per key plus one cursor move
 *     per microbatch, so 1 + 1/b write units an update is the floor;
 *   - microbatchRepeatedKeys: b = 100 over 25 keys — the applier collapses a microbatch to the last
 *     op per key, so fewer writes than updates;
 *   - seedBaseline: the seed's way, one update at a time — a conditional write per update plus the
 *     node's timestamp (its cursor) per update: b = 1 through the same use case;
 *   - transactional: the b = 100 writes and the cursor move in TransactWriteItems (≤ 100 actions
 *     each, the cursor in the last): what atomic microbatches would bill.
 *
 * Read units, requests, wall time and DynamoDB Local's own `ConsumedCapacity` figure are beside each;
 * a node of its own applies the distinct log once before the ways are timed.
 */
import { TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { DynamoReplicaStore } from '#shared/adapters/dynamodb/replica-store.ts';
import { createDocumentClient } from '#shared/clients.ts';
import { collapseToLastOpPerKey, decideApply } from '#shared/domain/apply.ts';
import { firstChainBreak, GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { MAX_TRANSACTION_ACTIONS } from '#shared/domain/item-size.ts';
import { MAX_ENTRIES_PER_APPEND } from '#shared/domain/ports.ts';
import type { Microbatch, NewUpdate } from '#shared/domain/types.ts';
import { applyMicrobatch } from '#shared/usecases/apply-microbatch.ts';
import { chainEntries } from '#shared/usecases/append-updates.ts';
import type { Emulators } from '#local/emulators.ts';
import { localDynamoClient, localSqsClient } from '#local/emulators.ts';
import { createResources, type LocalResources } from '#local/resources.ts';
import { CapacityLedger, emptyTally, type CapacityTally } from '../capacity/tally.ts';
import { startRequestRecorder, type RequestRecorder } from '../request-recorder.ts';

const UPDATES = 1_000;
const BATCH = 100;
const REPEATED_KEYS = 25;
const PRODUCED_AT = '2026-11-27T10:00:00.000Z';
const INTERVAL = 29_447_718;
const WARM_UP = 'warm-up';

export const APPLY_WAYS = ['microbatch', 'microbatchRepeatedKeys', 'seedBaseline', 'transactional'] as const;
export type ApplyWay = (typeof APPLY_WAYS)[number];

export interface WayFigures {
  readonly updates: number;
  readonly batchSize: number;
  /** DynamoDB requests made. */
  readonly requests: number;
  readonly wru: number;
  readonly rru: number;
  readonly reportedByDynamoDbLocal: { readonly wru: number; readonly rru: number };
  readonly wallMs: number;
  readonly byTable: CapacityTally['byTable'];
}

export interface ApplyResult {
  readonly wruPerUpdate: Readonly<Record<ApplyWay, number>>;
  readonly rruPerUpdate: Readonly<Record<ApplyWay, number>>;
  /** DynamoDB Local's own ConsumedCapacity, per update: it under-counts transactions and omits failed conditional writes. */
  readonly dynamoDbLocalWruPerUpdate: Readonly<Record<ApplyWay, number>>;
  readonly requestsPerUpdate: Readonly<Record<ApplyWay, number>>;
  /** seedBaseline wall time over microbatch wall time, same updates, same run. */
  readonly seedOverMicrobatchWall: number;
  readonly ways: Readonly<Record<ApplyWay, WayFigures>>;
}

/** Puts with a value of ~60 bytes; keys distinct, or drawn from `keys` in turn. */
function updates(keys: number | undefined): NewUpdate[] {
  return Array.from({ length: UPDATES }, (_, index) => ({
    key: keys === undefined ? `key-${index + 1}` : `key-${(index * 7) % keys}`,
    op: 'put',
    value: { serial: index + 1, amount: (index * 37) % 1_000, tags: ['a', 'b'] },
  }));
}

/** The log of `stream` holding `list`, appended in transactions as ingest does. */
async function writeLog(log: DynamoLogStore, stream: string, list: readonly NewUpdate[]): Promise<void> {
  const entries = chainEntries({ head: 0, headChain: GENESIS_CHAIN }, list, PRODUCED_AT);
  for (let start = 0; start < entries.length; start += MAX_ENTRIES_PER_APPEND) {
    const headChain = start === 0 ? GENESIS_CHAIN : (entries[start - 1]?.chain ?? GENESIS_CHAIN);
    await log.append(stream, { head: start, headChain }, entries.slice(start, start + MAX_ENTRIES_PER_APPEND), PRODUCED_AT);
  }
}

function tokens(stream: string, nodeId: string, batchSize: number): Microbatch[] {
  const count = Math.ceil(UPDATES / batchSize);
  return Array.from({ length: count }, (_, index) => ({ v: 2, stream, nodeId, interval: INTERVAL, from: 0, target: UPDATES, index, count, plannedAt: PRODUCED_AT }));
}

interface Stores {
  readonly doc: DynamoDBDocumentClient;
  readonly resources: LocalResources;
  readonly log: DynamoLogStore;
  readonly nodes: DynamoNodeRepository;
  readonly replica: DynamoReplicaStore;
}

/**
 * The applier's writes for one token as one or more TransactWriteItems: the same conditional puts,
 * then the cursor move with its condition, in transactions of at most 100 actions.
 */
async function applyTransactionally(microbatch: Microbatch, stores: Stores, batchSize: number): Promise<void> {
  const node = await stores.nodes.get(microbatch.nodeId);
  if (node === undefined) throw new Error(`no node ${microbatch.nodeId}`);
  const decision = decideApply(node.appliedSeq, microbatch, batchSize);
  if (decision.kind === 'duplicate') return;
  const entries = await stores.log.readRange(microbatch.stream, decision.start, decision.end);
  const last = entries.at(-1);
  if (last === undefined || firstChainBreak(decision.start, node.appliedChain, entries) !== undefined) throw new Error('the log does not verify');
  const { replica, nodes } = stores.resources.tables;
  const actions: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = collapseToLastOpPerKey(entries).map((write) => ({
    Put: {
      TableName: replica,
      Item: { nodeId: node.nodeId, key: write.key, value: JSON.stringify(write.value), seq: write.seq, updatedAt: write.updatedAt },
      ConditionExpression: 'attribute_not_exists(#seq) OR #seq < :seq',
      ExpressionAttributeNames: { '#seq': 'seq' },
      ExpressionAttributeValues: { ':seq': write.seq },
    },
  }));
  actions.push({
    Update: {
      TableName: nodes,
      Key: { nodeId: node.nodeId },
      UpdateExpression: 'SET #appliedSeq = :appliedSeq, #appliedChain = :appliedChain, #appliedAt = :appliedAt, #lastProducedAt = :lastProducedAt',
      ConditionExpression: '#appliedSeq = :expected',
      ExpressionAttributeNames: { '#appliedSeq': 'appliedSeq', '#appliedChain': 'appliedChain', '#appliedAt': 'appliedAt', '#lastProducedAt': 'lastProducedAt' },
      ExpressionAttributeValues: { ':appliedSeq': decision.end, ':appliedChain': last.chain, ':appliedAt': PRODUCED_AT, ':lastProducedAt': last.producedAt, ':expected': node.appliedSeq },
    },
  });
  for (let start = 0; start < actions.length; start += MAX_TRANSACTION_ACTIONS) {
    await stores.doc.send(new TransactWriteCommand({ TransactItems: actions.slice(start, start + MAX_TRANSACTION_ACTIONS) }));
  }
}

/** Applies every token of one way to its own node and charges what it cost. */
async function applyOneWay(way: ApplyWay, stores: Stores, recorder: RequestRecorder, ledger: CapacityLedger): Promise<WayFigures> {
  const stream = way === 'microbatchRepeatedKeys' ? 'repeated' : 'distinct';
  const batchSize = way === 'seedBaseline' ? 1 : BATCH;
  const deps = { stream, batchSize, log: stores.log, nodes: stores.nodes, replica: stores.replica, now: () => new Date(PRODUCED_AT) };
  const started = performance.now();
  for (const token of tokens(stream, way, batchSize)) {
    if (way === 'transactional') await applyTransactionally(token, stores, batchSize);
    else await applyMicrobatch(token, deps);
  }
  const wallMs = performance.now() - started;
  const tally = ledger.charge(recorder.take(), emptyTally());
  return {
    updates: UPDATES,
    batchSize,
    requests: tally.requests,
    wru: tally.writeUnits,
    rru: tally.readUnits,
    reportedByDynamoDbLocal: { wru: tally.reportedWriteUnits, rru: tally.reportedReadUnits },
    wallMs: Math.round(wallMs),
    byTable: tally.byTable,
  };
}

export async function measureApply(progress: (line: string) => void, emulators: Emulators): Promise<ApplyResult> {
  const admin = { dynamodb: localDynamoClient(emulators.endpoints.dynamodb), sqs: localSqsClient(emulators.endpoints.sqs) };
  const resources = await createResources(admin, { prefix: 'bench-apply' });
  const recorder = startRequestRecorder();
  const doc = createDocumentClient({ endpoint: emulators.endpoints.dynamodb });
  try {
    const stores: Stores = {
      doc,
      resources,
      log: new DynamoLogStore(doc, resources.tables.log),
      nodes: new DynamoNodeRepository(doc, resources.tables.nodes),
      replica: new DynamoReplicaStore(doc, resources.tables.replica),
    };
    const ledger = new CapacityLedger();
    progress(`apply: writing two logs of ${UPDATES} updates and registering ${APPLY_WAYS.length} nodes…`);
    await writeLog(stores.log, 'distinct', updates(undefined));
    await writeLog(stores.log, 'repeated', updates(REPEATED_KEYS));
    for (const nodeId of [...APPLY_WAYS, WARM_UP]) await stores.nodes.register({ nodeId, rate: 1 });
    // A node of its own takes the distinct log first, so that no way pays for DynamoDB Local's JIT.
    const warmUp = { stream: 'distinct', batchSize: BATCH, log: stores.log, nodes: stores.nodes, replica: stores.replica, now: () => new Date(PRODUCED_AT) };
    for (const token of tokens('distinct', WARM_UP, BATCH)) await applyMicrobatch(token, warmUp);
    // The setup's writes teach the meter every item; they are not charged to any way.
    ledger.charge(recorder.take());

    const ways = {} as Record<ApplyWay, WayFigures>;
    for (const way of APPLY_WAYS) {
      ways[way] = await applyOneWay(way, stores, recorder, ledger);
      progress(`apply: ${way}: ${ways[way].wru} write units for ${UPDATES} updates in ${ways[way].wallMs} ms`);
    }
    const perUpdate = (pick: (figures: WayFigures) => number): Record<ApplyWay, number> =>
      Object.fromEntries(APPLY_WAYS.map((way) => [way, Number((pick(ways[way]) / UPDATES).toFixed(4))])) as Record<ApplyWay, number>;
    return {
      wruPerUpdate: perUpdate((figures) => figures.wru),
      rruPerUpdate: perUpdate((figures) => figures.rru),
      dynamoDbLocalWruPerUpdate: perUpdate((figures) => figures.reportedByDynamoDbLocal.wru),
      requestsPerUpdate: perUpdate((figures) => figures.requests),
      seedOverMicrobatchWall: Number((ways.seedBaseline.wallMs / ways.microbatch.wallMs).toFixed(2)),
      ways,
    };
  } finally {
    doc.destroy();
    admin.dynamodb.destroy();
    admin.sqs.destroy();
    recorder.stop();
  }
}
