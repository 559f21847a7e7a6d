/**
 * Runs the real handlers (`functions/<name>/handler.ts`) the way Lambda does: each function's
 * configuration comes from its environment, read once when a container starts (a cold start is a
 * fresh `import()` of the handler module), and an invocation gets a Lambda `Context`. A container
 * serves one invocation at a time — the logger's invocation context and the metrics buffered for an
 * invocation are state of the container — so concurrent invocations start more containers, as Lambda
 * scales out.
 */
import type { Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { RESOURCE_ENV, SETTINGS_ENV, type Resource } from '#shared/config.ts';
import type { SyncSettings } from '#shared/domain/config.ts';
import { FUNCTION_NAMES, FUNCTIONS, handlerPath, type FunctionName, type LogLevel } from '#infra/definitions.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, type EmulatorEndpoints } from './emulators.ts';

export type { FunctionName, LogLevel };

type Handler = (event: unknown, context: Context) => Promise<unknown>;

interface Container {
  readonly id: string;
  readonly handler: Handler;
}

/** The environment the CDK stack gives every function, pointed at the emulators. */
export function functionEnvironment(input: {
  readonly settings: Readonly<SyncSettings>;
  readonly resources: Readonly<Record<Resource, string>>;
  /** DynamoDB as the handlers reach it: the fault proxy when throttling is injected. */
  readonly endpoints: EmulatorEndpoints;
  readonly logLevel: LogLevel;
}): Record<string, string> {
  const settings = Object.fromEntries(Object.entries(SETTINGS_ENV).map(([field, name]) => [name, String(input.settings[field as keyof SyncSettings])]));
  const resources = Object.fromEntries(Object.entries(RESOURCE_ENV).map(([resource, name]) => [name, input.resources[resource as Resource]]));
  return {
    // Any whole number of seconds is a valid interval locally; the cloud schedule needs minutes.
    DEPLOYMENT_TARGET: 'local',
    ...settings,
    ...resources,
    AWS_ENDPOINT_URL_DYNAMODB: input.endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: input.endpoints.sqs,
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    POWERTOOLS_SERVICE_NAME: 'microbatch-sync-local',
    POWERTOOLS_METRICS_NAMESPACE: 'MicrobatchSyncLocal',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: input.logLevel,
  };
}

/** A Lambda invocation context as the Node.js runtime passes it, counting down from the timeout of the function's definition. */
export function lambdaContext(name: FunctionName, containerId: string): Context {
  const functionName = `microbatch-sync-local-${name}`;
  const deadline = Date.now() + FUNCTIONS[name].timeoutSeconds * 1000;
  const context: Omit<Context, 'done' | 'fail' | 'succeed'> = {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:000000000000:function:${functionName}`,
    memoryLimitInMB: String(FUNCTIONS[name].memoryMB),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${containerId}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  return context as Context;
}

export class LambdaHost {
  private readonly idle = new Map<FunctionName, Container[]>();
  private readonly started = Object.fromEntries(FUNCTION_NAMES.map((name) => [name, 0])) as Record<FunctionName, number>;

  /**
   * @param env what {@link functionEnvironment} returns; set on `process.env` before each cold start.
   * @param runId tells this run's containers from another run's in the same process (module URLs must differ).
   * @param onInvoke called as each invocation starts (the fault injector's hook).
   */
  constructor(
    private readonly env: Readonly<Record<string, string>>,
    private readonly runId: string,
    private readonly onInvoke: (name: FunctionName) => void = () => undefined,
  ) {}

  /** Invokes `name` with `event` in an idle container, or a new one; resolves to what the handler returns. */
  async invoke<T = unknown>(name: FunctionName, event: unknown): Promise<T> {
    const pool = this.idle.get(name) ?? [];
    this.idle.set(name, pool);
    const container = pool.pop() ?? (await this.coldStart(name));
    this.onInvoke(name);
    try {
      return (await container.handler(event, lambdaContext(name, container.id))) as T;
    } finally {
      pool.push(container);
    }
  }

  /** Containers started per function so far. */
  coldStarts(): Readonly<Record<FunctionName, number>> {
    return { ...this.started };
  }

  private async coldStart(name: FunctionName): Promise<Container> {
    this.started[name] += 1;
    Object.assign(process.env, this.env);
    // A distinct URL is a distinct module instance: its module-scope config, clients and state are
    // this container's own, as in a fresh Lambda container. Shared modules stay shared (one process).
    const id = `${this.runId}-${name}-${this.started[name]}`;
    const url = new URL(`../${handlerPath(name)}`, import.meta.url);
    url.searchParams.set('container', id);
    const module = (await import(url.href)) as { handler?: unknown };
    if (typeof module.handler !== 'function') throw new TypeError(`${handlerPath(name)} exports no handler`);
    return { id, handler: module.handler as Handler };
  }
}
