/**
 * What the integration files that invoke the real handlers share: clients of the emulators the
 * global setup started, and one run's tables, queues and Lambda host in them.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import type { SyncSettings } from '#shared/domain/config.ts';
import { localDocumentClient, localDynamoClient, localSqsClient, type EmulatorEndpoints } from '#local/emulators.ts';
import { functionEnvironment, LambdaHost } from '#local/lambda-host.ts';
import { createResources, type LocalResources } from '#local/resources.ts';

export interface EmulatorClients {
  readonly endpoints: EmulatorEndpoints;
  readonly dynamodb: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  /** Closes every client's connections. */
  destroy(): void;
}

export function emulatorClients(): EmulatorClients {
  const endpoints = inject('emulators');
  const dynamodb = localDynamoClient(endpoints.dynamodb);
  const doc = localDocumentClient(endpoints.dynamodb);
  const sqs = localSqsClient(endpoints.sqs);
  return {
    endpoints,
    dynamodb,
    doc,
    sqs,
    destroy: () => {
      dynamodb.destroy();
      doc.destroy();
      sqs.destroy();
    },
  };
}

/** Creates a run's tables and queues (names start with `prefix`) and a host whose functions use them. */
export async function handlerHost(clients: EmulatorClients, settings: Readonly<SyncSettings>, prefix: string): Promise<{ resources: LocalResources; host: LambdaHost }> {
  const resources = await createResources({ dynamodb: clients.dynamodb, sqs: clients.sqs }, { prefix });
  const env = functionEnvironment({ settings, resources: resources.functionResources, endpoints: clients.endpoints, logLevel: 'SILENT' });
  return { resources, host: new LambdaHost(env, randomUUID().slice(0, 6)) };
}
