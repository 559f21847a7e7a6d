/**
 * The writes no design can avoid, made directly: the log transactions ingest committed and the
 * replica's conditional PutItems the appliers made, taken from a pipeline run's recorded requests
 * and made again, in the same order and at the same concurrency, against fresh tables in the same
 * DynamoDB Local, with the client settings the handlers use, recorded as theirs are.
 * What the pipeline takes beyond this is what its machinery adds: the queue, the planner, the
 * checker, the log and node reads, the cursor moves, the Lambda invocations.
 *
 * Same concurrency: transactions one after another (a producer's request commits its chunks in
 * turn); replica puts grouped as the applier made them — the puts of a group up to 16 in flight
 * (DynamoReplicaStore's default, used here as is), a node's groups one after another, and up to
 * ten nodes at once, as a single event-source poller hands the applier one batch of ≤ 10 records
 * (nodes) at a time and the applier applies a batch's nodes in parallel, each node's records in
 * turn. A group is one microbatch's puts: a node's puts up to its cursor move.
 */
import { TransactWriteItemsCommand, type TransactWriteItemsCommandInput } from '@aws-sdk/client-dynamodb';
import pLimit from 'p-limit';
import { DynamoReplicaStore } from '#shared/adapters/dynamodb/replica-store.ts';
import { createDocumentClient, createDynamoClient } from '#shared/clients.ts';
import type { JsonValue, ReplicaItem } from '#shared/domain/types.ts';
import { localDynamoClient, localSqsClient, type EmulatorEndpoints } from '#local/emulators.ts';
import { createResources, type LocalResources } from '#local/resources.ts';
import type { WireItem } from '../capacity/attribute-size.ts';
import { logicalTable } from '../capacity/tally.ts';
import { cpuBetween, sampleCpu } from '../process-cpu.ts';
import { tableOf, type Exchange, type RequestRecorder } from '../request-recorder.ts';

/** Nodes the applier applies at once: the records of one batch (the FIFO event source's limit). */
const APPLIER_BATCH_NODES = 10;

/** The unavoidable writes of a run, ready to be made again. */
export interface FloorWrites {
  /** Ingest's TransactWriteItems, in order. */
  readonly transactions: readonly TransactWriteItemsCommandInput[];
  /** The replica's puts, one group per microbatch, in order. */
  readonly groups: readonly { readonly nodeId: string; readonly writes: readonly ReplicaItem[] }[];
}

export interface FloorRun {
  readonly wallMs: number;
  readonly startedAt: number;
  readonly endedAt: number;
  /** CPU this process and DynamoDB Local spent making the writes (ms). */
  readonly cpuMs: number;
  readonly transactions: number;
  readonly puts: number;
  readonly groups: number;
  /** The fresh tables the floor wrote. */
  readonly resources: LocalResources;
}

function stringOf(value: WireItem[string] | undefined): string {
  return value !== undefined && 'S' in value ? value.S : '';
}

/** A recorded replica item back as the item the applier wrote. */
function replicaWrite(item: WireItem): ReplicaItem {
  const seq = item.seq !== undefined && 'N' in item.seq ? Number(item.seq.N) : 0;
  const updatedAt = stringOf(item.updatedAt);
  if (item.deleted !== undefined) return { key: stringOf(item.key), deleted: true, seq, updatedAt };
  const text = stringOf(item.value);
  return { key: stringOf(item.key), ...(text === '' ? {} : { value: JSON.parse(text) as JsonValue }), seq, updatedAt };
}

/**
 * Picks the floor's writes out of a run's recorded DynamoDB requests. One microbatch's puts are a
 * node's puts up to its cursor move (its UpdateItem on the Nodes table): the applier applies a
 * batch's nodes in parallel, so the puts of several nodes interleave in the recording.
 */
export function floorWrites(exchanges: readonly Exchange[]): FloorWrites {
  const transactions: TransactWriteItemsCommandInput[] = [];
  const groups: { nodeId: string; writes: ReplicaItem[] }[] = [];
  const open = new Map<string, { nodeId: string; writes: ReplicaItem[] }>();
  for (const exchange of exchanges) {
    const table = logicalTable(tableOf(exchange));
    if (exchange.operation === 'PutItem' && table === 'replica') {
      const item = exchange.request.Item as WireItem;
      const nodeId = stringOf(item.nodeId);
      let group = open.get(nodeId);
      if (group === undefined) {
        group = { nodeId, writes: [] };
        open.set(nodeId, group);
        groups.push(group);
      }
      group.writes.push(replicaWrite(item));
      continue;
    }
    if (exchange.operation === 'UpdateItem' && table === 'nodes') {
      const key = exchange.request.Key as WireItem | undefined;
      open.delete(stringOf(key?.nodeId));
      continue;
    }
    if (exchange.operation === 'TransactWriteItems' && exchange.status === 200) {
      // The SDK's idempotency token is left out: the same token with other table names is refused.
      const input = { ...(exchange.request as unknown as TransactWriteItemsCommandInput) };
      delete input.ClientRequestToken;
      delete input.ReturnConsumedCapacity;
      transactions.push(input);
    }
  }
  return { transactions, groups };
}

/** Points every action of a transaction at the same logical table of `resources`. */
function retarget(input: TransactWriteItemsCommandInput, resources: LocalResources): TransactWriteItemsCommandInput {
  const rename = (table: string | undefined): string => {
    const name = table === undefined ? undefined : logicalTable(table);
    return name === undefined ? (table ?? '') : resources.tables[name];
  };
  return {
    ...input,
    TransactItems: (input.TransactItems ?? []).map((action) => ({
      ...(action.Put === undefined ? {} : { Put: { ...action.Put, TableName: rename(action.Put.TableName) } }),
      ...(action.Update === undefined ? {} : { Update: { ...action.Update, TableName: rename(action.Update.TableName) } }),
      ...(action.Delete === undefined ? {} : { Delete: { ...action.Delete, TableName: rename(action.Delete.TableName) } }),
      ...(action.ConditionCheck === undefined ? {} : { ConditionCheck: { ...action.ConditionCheck, TableName: rename(action.ConditionCheck.TableName) } }),
    })),
  };
}

/** Makes the floor's writes against fresh tables and times them; `recorder` is emptied as the clock starts. */
export async function runWriteFloor(writes: FloorWrites, endpoints: EmulatorEndpoints, recorder: RequestRecorder): Promise<FloorRun> {
  const admin = { dynamodb: localDynamoClient(endpoints.dynamodb), sqs: localSqsClient(endpoints.sqs) };
  const client = createDynamoClient({ endpoint: endpoints.dynamodb });
  const doc = createDocumentClient({ client });
  try {
    const resources = await createResources(admin, { prefix: 'bench-floor' });
    const replica = new DynamoReplicaStore(doc, resources.tables.replica);
    const transactions = writes.transactions.map((input) => retarget(input, resources));
    recorder.take();
    const cpu = sampleCpu();
    const started = performance.now();
    for (const input of transactions) await client.send(new TransactWriteItemsCommand(input));
    const byNode = new Map<string, (typeof writes.groups)[number][]>();
    for (const group of writes.groups) byNode.set(group.nodeId, [...(byNode.get(group.nodeId) ?? []), group]);
    const nodes = pLimit(APPLIER_BATCH_NODES);
    await Promise.all(
      [...byNode.values()].map((groups) =>
        nodes(async () => {
          for (const group of groups) await replica.write(group.nodeId, group.writes);
        }),
      ),
    );
    const endedAt = performance.now();
    const cpuMs = cpuBetween(cpu, sampleCpu());
    return {
      wallMs: endedAt - started,
      startedAt: started,
      endedAt,
      cpuMs,
      transactions: transactions.length,
      puts: writes.groups.reduce((sum, group) => sum + group.writes.length, 0),
      groups: writes.groups.length,
      resources,
    };
  } finally {
    doc.destroy();
    admin.dynamodb.destroy();
    admin.sqs.destroy();
  }
}
