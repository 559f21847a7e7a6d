/**
 * Which Microbatch Sync the command line talks to: a deployed stack, found from its CloudFormation
 * outputs (`--stack NAME`, the standard AWS credential chain and region), or a local one started by
 * `microbatch up` (`--local`, through the state file `up` writes; `--state-file FILE` names
 * another). Every command gets one {@link Deployment} and reaches tables, queues and functions only
 * through it.
 */
import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, resolve } from 'node:path';
import { createDocumentClient } from '#shared/clients.ts';
import type { SyncSettings } from '#shared/domain/config.ts';
import type { FunctionName } from '#infra/definitions.ts';
import { localDynamoClient, localSqsClient } from '#local/emulators.ts';
import type { LocalResources } from '#local/resources.ts';
import { EnvironmentError, UsageError } from '#local/errors.ts';

/** Where `microbatch up` writes what `--local` reads. */
export const DEFAULT_LOCAL_STATE_FILE = 'out/microbatch-local.json';

/** The names of a deployment's resources: the stack's outputs, or the local run's. */
export interface DeploymentResources {
  readonly logTable: string;
  readonly nodesTable: string;
  readonly replicaTable: string;
  readonly convergenceTable: string;
  readonly ingestRequestsTable: string;
  readonly plansTable: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly planTaskQueueUrl: string;
  readonly checkTaskQueueUrl: string;
  readonly failedTicksQueueUrl?: string;
  /** Physical function names; a local deployment runs its handlers in process instead. */
  readonly functions?: Readonly<Record<FunctionName, string>>;
  readonly alarmTopicArn?: string;
}

/** What `microbatch up` writes and `--local` reads: endpoints, names and settings of a local run. */
export interface LocalState {
  readonly version: 1;
  readonly pid: number;
  readonly startedAt: string;
  readonly endpoints: { readonly dynamodb: string; readonly sqs: string };
  readonly resources: DeploymentResources;
  readonly settings: Readonly<SyncSettings>;
}

export interface DeploymentClients {
  readonly dynamodb: DynamoDBClient;
  readonly document: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
}

export type DeploymentSource =
  | { readonly kind: 'stack'; readonly stackName: string; readonly region: string | undefined }
  | { readonly kind: 'local'; readonly file: string; readonly state: LocalState };

export interface Deployment {
  readonly source: DeploymentSource;
  /** The log stream the functions serve (`stream` setting). */
  readonly stream: string;
  readonly resources: DeploymentResources;
  readonly clients: DeploymentClients;
  /**
   * Invokes a function and returns its result: Lambda `Invoke` (RequestResponse) for a stack; for a
   * local deployment the caller runs the handler in process (see `commands/`), so this throws.
   */
  invoke(name: FunctionName, payload: unknown): Promise<unknown>;
}

/** The stack outputs the command line needs, by output key. */
const OUTPUTS = {
  logTable: 'LogTableName',
  nodesTable: 'NodesTableName',
  replicaTable: 'ReplicaTableName',
  convergenceTable: 'ConvergenceTableName',
  ingestRequestsTable: 'IngestRequestsTableName',
  plansTable: 'PlansTableName',
  queueUrl: 'QueueUrl',
  deadLetterQueueUrl: 'DeadLetterQueueUrl',
  planTaskQueueUrl: 'PlanTaskQueueUrl',
  checkTaskQueueUrl: 'CheckTaskQueueUrl',
} as const satisfies Partial<Record<keyof DeploymentResources, string>>;
const FUNCTION_OUTPUTS: Readonly<Record<FunctionName, string>> = {
  planner: 'PlannerFunctionName',
  plannerShard: 'PlannerShardFunctionName',
  applier: 'ApplierFunctionName',
  checker: 'CheckerFunctionName',
  checkerShard: 'CheckerShardFunctionName',
  ingest: 'IngestFunctionName',
};

/** Reads a stack's outputs into resource names; a missing output is named. */
export function resourcesFromOutputs(stackName: string, outputs: Readonly<Record<string, string>>): DeploymentResources {
  const required = (key: string): string => {
    const value = outputs[key];
    if (value === undefined || value === '') throw new UsageError(`stack ${stackName} has no output ${key}: is it a Microbatch Sync stack?`);
    return value;
  };
  const names = Object.fromEntries(Object.entries(OUTPUTS).map(([field, key]) => [field, required(key)])) as Record<keyof typeof OUTPUTS, string>;
  const functions = Object.fromEntries(Object.entries(FUNCTION_OUTPUTS).map(([name, key]) => [name, required(key)])) as Record<FunctionName, string>;
  const failedTicksQueueUrl = outputs.FailedTicksQueueUrl;
  const alarmTopicArn = outputs.AlarmTopicArn;
  return {
    ...names,
    functions,
    ...(failedTicksQueueUrl === undefined ? {} : { failedTicksQueueUrl }),
    ...(alarmTopicArn === undefined ? {} : { alarmTopicArn }),
  };
}

/** `--stack` without a region or credentials: the message says what to set (exit 3, the machine lacks it). */
export class MissingAwsSetupError extends EnvironmentError {
  constructor(
    readonly missing: 'region' | 'credentials',
    message: string,
    cause: Error,
  ) {
    super(message, { cause });
  }
}

/**
 * The SDK's "Region is missing" and CredentialsProviderError for `--stack`, as what to set;
 * undefined for any other error. The SDK says neither where it looked nor what would do.
 */
export function missingAwsSetup(error: unknown, stackName: string): MissingAwsSetupError | undefined {
  if (!(error instanceof Error)) return undefined;
  const config = process.env.AWS_CONFIG_FILE ?? '~/.aws/config';
  if (error.message === 'Region is missing') {
    return new MissingAwsSetupError('region', `no AWS region for --stack ${stackName}: give --region REGION, or set AWS_REGION, or a region in the profile AWS_PROFILE (else default) of ${config}`, error);
  }
  if (error.name === 'CredentialsProviderError') {
    const credentials = process.env.AWS_SHARED_CREDENTIALS_FILE ?? '~/.aws/credentials';
    return new MissingAwsSetupError(
      'credentials',
      `no AWS credentials for --stack ${stackName} (${error.message}): the SDK's credential chain looks in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ` +
        `the profile AWS_PROFILE (else default) of ${credentials} and ${config} (keys, SSO after \`aws sso login\`, credential_process, a role to assume), ` +
        'a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE), the ECS task role and the EC2 instance role',
      error,
    );
  }
  return undefined;
}

/** A deployed stack: its outputs through DescribeStacks. */
export async function stackDeployment(
  stackName: string,
  options: { readonly region?: string; readonly cloudFormation?: CloudFormationClient; readonly lambda?: LambdaClient; readonly stream?: string } = {},
): Promise<Deployment> {
  const region = options.region;
  const cloudFormation = options.cloudFormation ?? new CloudFormationClient(region === undefined ? {} : { region });
  let stack: Stack | undefined;
  try {
    stack = (await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  } catch (error) {
    if (error instanceof Error && error.name === 'ValidationError') throw new UsageError(`no stack named ${stackName}${region === undefined ? '' : ` in ${region}`}: ${error.message}`);
    // The first call of a --stack command: the region and credentials every later client uses are found here, or not.
    throw missingAwsSetup(error, stackName) ?? error;
  }
  if (stack === undefined) throw new UsageError(`no stack named ${stackName}`);
  const outputs = Object.fromEntries((stack.Outputs ?? []).flatMap(({ OutputKey, OutputValue }) => (OutputKey && OutputValue ? [[OutputKey, OutputValue]] : [])));
  const resources = resourcesFromOutputs(stackName, outputs);
  // The standard credential chain and region (AWS_REGION, the profile), unless --region says otherwise.
  const clientOptions = region === undefined ? {} : { region };
  const dynamodb = new DynamoDBClient(clientOptions);
  const lambda = options.lambda ?? new LambdaClient(clientOptions);
  return {
    source: { kind: 'stack', stackName, region },
    stream: options.stream ?? 'main',
    resources,
    clients: { dynamodb, document: createDocumentClient({ client: dynamodb }), sqs: new SQSClient(clientOptions) },
    async invoke(name, payload) {
      const functionName = resources.functions?.[name];
      if (functionName === undefined) throw new UsageError(`stack ${stackName} names no ${name} function`);
      const answer = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: new TextEncoder().encode(JSON.stringify(payload)) }));
      const text = answer.Payload === undefined ? 'null' : new TextDecoder().decode(answer.Payload);
      if (answer.FunctionError !== undefined) throw new Error(`${name} failed (${answer.FunctionError}): ${text}`);
      return JSON.parse(text) as unknown;
    },
  };
}

/** Reads the state file `microbatch up` wrote; says how to start one when there is none. */
export function readLocalState(file: string = DEFAULT_LOCAL_STATE_FILE): LocalState {
  const path = resolve(file);
  if (!existsSync(path)) throw new UsageError(`no local Microbatch Sync at ${file}: start one with \`npx microbatch up\` (it writes ${DEFAULT_LOCAL_STATE_FILE})`);
  const state = JSON.parse(readFileSync(path, 'utf8')) as Partial<LocalState> | null;
  if (state?.version !== 1 || state.endpoints === undefined || state.resources === undefined || state.settings === undefined) {
    throw new UsageError(`${file} is not a state file of this version of microbatch up`);
  }
  return state as LocalState;
}

const isDefaultStateFile = (file: string): boolean => resolve(file) === resolve(DEFAULT_LOCAL_STATE_FILE);

/** The option that reaches the `up` whose state file is `file`: `--local` for the default one. */
export function reachOption(file: string): string {
  return isDefaultStateFile(file) ? '--local' : `--state-file ${file}`;
}

/** Whether a process with this pid runs (one of another user's counts: signalling it is refused, not failed). */
export function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether anything accepts a connection on the endpoint's host and port within `timeoutMs`. */
export function answers(endpoint: string, timeoutMs = 2_000): Promise<boolean> {
  const url = new URL(endpoint);
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : url.port) });
    const done = (answered: boolean): void => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(timeoutMs, () => {
      done(false);
    });
    socket.once('connect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}

/** A state file whose emulators nobody runs any more: the `up` that wrote it is gone, or going. */
export class StaleStateFileError extends EnvironmentError {
  constructor(
    readonly file: string,
    readonly state: LocalState,
    upRuns: boolean,
  ) {
    const again = `start \`npx microbatch ${isDefaultStateFile(file) ? '' : `--state-file ${file} `}up\` again`;
    super(
      `${file} names emulators nobody answers on (DynamoDB ${state.endpoints.dynamodb}, SQS ${state.endpoints.sqs}): the microbatch up that wrote it (pid ${state.pid}) ` +
        (upRuns ? `still runs but its emulators do not (it is stopping, or stuck): stop it, then ${again}` : `has exited without removing it; ${again}`),
    );
  }
}

/**
 * A local deployment whose emulators answer. A connection is all it asks: a command against a state
 * file left by an `up` that was killed says so in a line (exit 3) instead of failing on its first
 * request with the SDK's ECONNREFUSED, after its retries.
 */
export async function answeringLocalDeployment(file: string = DEFAULT_LOCAL_STATE_FILE): Promise<Deployment> {
  const state = readLocalState(file);
  const answered = await Promise.all([answers(state.endpoints.dynamodb), answers(state.endpoints.sqs)]);
  if (answered.includes(false)) throw new StaleStateFileError(file, state, processRunning(state.pid));
  return localDeployment(file, state);
}

/** A local deployment: the emulators and names `microbatch up` wrote down. */
export function localDeployment(file: string = DEFAULT_LOCAL_STATE_FILE, state: LocalState = readLocalState(file)): Deployment {
  const dynamodb = localDynamoClient(state.endpoints.dynamodb);
  return {
    source: { kind: 'local', file, state },
    stream: state.settings.stream,
    resources: state.resources,
    clients: { dynamodb, document: createDocumentClient({ client: dynamodb }), sqs: localSqsClient(state.endpoints.sqs) },
    invoke(name) {
      return Promise.reject(new UsageError(`a local deployment runs the ${name} handler in process: use the command's local path`));
    },
  };
}

/** The deployment the global options name: exactly one of `--stack` and `--local`. */
export async function resolveDeployment(options: { readonly stack?: string; readonly local?: string | boolean; readonly region?: string }): Promise<Deployment> {
  if (options.stack !== undefined && options.local !== undefined) throw new UsageError('give --stack NAME or --local, not both');
  if (options.stack !== undefined) return stackDeployment(options.stack, options.region === undefined ? {} : { region: options.region });
  if (options.local !== undefined) return answeringLocalDeployment(typeof options.local === 'string' ? options.local : DEFAULT_LOCAL_STATE_FILE);
  throw new UsageError('say which deployment: --stack NAME (a deployed stack) or --local (one started by `microbatch up`)');
}

/**
 * The state of a local deployment made of `resources` on the emulators at `endpoints` — what
 * `microbatch up` writes, and what tests write to point `--local` at tables they created.
 */
export function localState(input: {
  readonly endpoints: { readonly dynamodb: string; readonly sqs: string };
  readonly resources: LocalResources;
  readonly settings: Readonly<SyncSettings>;
  readonly now?: Date;
}): LocalState {
  const { tables, queues } = input.resources;
  return {
    version: 1,
    pid: process.pid,
    startedAt: (input.now ?? new Date()).toISOString(),
    endpoints: { dynamodb: input.endpoints.dynamodb, sqs: input.endpoints.sqs },
    resources: {
      logTable: tables.log,
      nodesTable: tables.nodes,
      replicaTable: tables.replica,
      convergenceTable: tables.convergence,
      ingestRequestsTable: tables.ingestRequests,
      plansTable: tables.plans,
      queueUrl: queues.microbatch.url,
      deadLetterQueueUrl: queues.microbatchDeadLetter.url,
      planTaskQueueUrl: queues.planTasks.url,
      checkTaskQueueUrl: queues.checkTasks.url,
      failedTicksQueueUrl: queues.failedTicks.url,
    },
    settings: input.settings,
  };
}

/** A local state file's text. */
export function localStateText(state: LocalState): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

/** Writes a local state file (its folder too) for `--local` to find. */
export function writeLocalState(state: LocalState, file: string = DEFAULT_LOCAL_STATE_FILE): void {
  mkdirSync(dirname(resolve(file)), { recursive: true });
  writeFileSync(resolve(file), localStateText(state));
}
