/**
 * Invoking a function of the deployment: Lambda `Invoke` for a stack, and for a local deployment the
 * real handler in this process through {@link LambdaHost}, configured as `up` configures it (the
 * state file's endpoints, resources and settings).
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '#shared/config.ts';
import type { FunctionName } from '#infra/definitions.ts';
import { functionEnvironment, LambdaHost } from '#local/lambda-host.ts';
import type { Deployment } from './deployment.ts';

export type InvokeFunction = (name: FunctionName, payload: unknown) => Promise<unknown>;

/** How this command line reaches the deployment's functions. */
export function functionInvoker(deployment: Deployment): InvokeFunction {
  const { source } = deployment;
  if (source.kind === 'stack') return (name, payload) => deployment.invoke(name, payload);
  const { resources, endpoints, settings } = source.state;
  const functionResources: Record<Resource, string> = {
    logTable: resources.logTable,
    nodesTable: resources.nodesTable,
    replicaTable: resources.replicaTable,
    convergenceTable: resources.convergenceTable,
    ingestRequestsTable: resources.ingestRequestsTable,
    plansTable: resources.plansTable,
    queueUrl: resources.queueUrl,
    planTaskQueueUrl: resources.planTaskQueueUrl,
    checkTaskQueueUrl: resources.checkTaskQueueUrl,
  };
  const host = new LambdaHost(functionEnvironment({ settings, resources: functionResources, endpoints, logLevel: 'SILENT' }), `cli-${randomUUID().slice(0, 6)}`);
  return (name, payload) => host.invoke(name, payload);
}
