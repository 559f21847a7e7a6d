/**
 * A local deployment for the `microbatch` command tests, without `up`: one run's tables and queues
 * on the integration emulators, a state file pointing at them, and `main` run in process with its
 * output captured.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { DynamoReplicaStore } from '#shared/adapters/dynamodb/replica-store.ts';
import { validateSettings, type SyncSettings } from '#shared/domain/config.ts';
import { listActive } from '#shared/domain/ports.ts';
import { functionEnvironment, LambdaHost } from '#local/lambda-host.ts';
import { localState, writeLocalState } from '#cli/deployment.ts';
import { createResources, type LocalResources } from '#local/resources.ts';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { LOCAL_REGION } from '#local/emulators.ts';
import { FifoEventSource } from '#local/event-source.ts';
import { seededRandom } from '#local/random.ts';
import { ShardedTicks } from '#local/sharded-ticks.ts';
import type { EmulatorClients } from './support.ts';

export interface LocalDeploymentFixture {
  readonly settings: Readonly<SyncSettings>;
  readonly resources: LocalResources;
  /** The state file to pass as `--local`. */
  readonly stateFile: string;
  readonly folder: string;
  readonly host: LambdaHost;
  readonly log: DynamoLogStore;
  readonly nodes: DynamoNodeRepository;
  readonly replica: DynamoReplicaStore;
  /** Runs planner ticks and drains the queue through the applier until every active node holds the head. */
  converge(): Promise<void>;
  /** One planner tick, at the interval after the previous tick's, and the queue drained through the applier. */
  tick(): Promise<void>;
  /** Delivers what the queue holds to the applier until it is empty (failures go back, then to the dead-letter queue). */
  drain(): Promise<void>;
  remove(): Promise<void>;
}

export async function localDeploymentFixture(clients: EmulatorClients, prefix: string, options: { readonly maxReceiveCount?: number } = {}): Promise<LocalDeploymentFixture> {
  const settings = validateSettings({ stream: 'main', intervalSeconds: 10, batchSize: 100 }, 'local');
  const resources = await createResources({ dynamodb: clients.dynamodb, sqs: clients.sqs }, { prefix, ...options });
  const folder = await mkdtemp(join(tmpdir(), `microbatch-${prefix}-`));
  const stateFile = join(folder, 'local.json');
  writeLocalState(localState({ endpoints: clients.endpoints, resources, settings }), stateFile);
  const env = functionEnvironment({ settings, resources: resources.functionResources, endpoints: clients.endpoints, logLevel: 'SILENT' });
  const host = new LambdaHost(env, randomUUID().slice(0, 6));
  const log = new DynamoLogStore(clients.doc, resources.tables.log, { ingestRequestsTable: resources.tables.ingestRequests });
  const nodes = new DynamoNodeRepository(clients.doc, resources.tables.nodes);
  const source = new FifoEventSource({
    sqs: clients.sqs,
    queue: resources.queues.microbatch,
    region: LOCAL_REGION,
    invoke: (event: SQSEvent) => host.invoke<SQSBatchResponse | undefined>('applier', event),
    faults: () => ({ duplicate: 0, crash: 0, reorder: 0, lose: 0 }),
    random: seededRandom(1),
  });
  // The planner's tick as the cloud runs it: the coordinator, then its shard tasks.
  const planner = new ShardedTicks({ invoke: (name, event) => host.invoke(name, event), sqs: clients.sqs, doc: clients.doc, resources, stream: settings.stream });
  let last: number | undefined;
  const tick = async (): Promise<void> => {
    const k = (last ?? Math.floor(Date.now() / 1000 / settings.intervalSeconds)) + 1;
    last = k;
    await planner.plan({ scheduledTime: new Date(k * settings.intervalSeconds * 1000).toISOString(), executionId: randomUUID() });
    await source.drain();
  };
  const converge = async (): Promise<void> => {
    for (let round = 0; round < 20; round += 1) {
      const { head } = await log.readHead(settings.stream);
      const { nodes: active } = await listActive(nodes);
      if (active.every((node) => node.appliedSeq === head)) return;
      await tick();
    }
    throw new Error('the nodes did not reach the head in 20 intervals');
  };
  return {
    settings,
    resources,
    stateFile,
    folder,
    host,
    log,
    nodes,
    replica: new DynamoReplicaStore(clients.doc, resources.tables.replica),
    converge,
    tick,
    drain: async () => {
      await source.drain();
    },
    remove: () => rm(folder, { recursive: true, force: true }),
  };
}
