/**
 * One construct for every function of the system (STYLE §8): Node.js 24 on arm64, bundled by the
 * local esbuild as minified ESM with source maps, its own role and log group, the Powertools and
 * shared-settings environment. Access to a table or queue is granted, and its name or URL set in
 * the environment, in the same call, so a function never gets a resource it was not told about.
 */
import { fileURLToPath } from 'node:url';
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogLevel as EsbuildLogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RESOURCE_ENV, SETTINGS_ENV, type Resource } from '#shared/config.ts';
import type { SyncSettings } from '#shared/domain/config.ts';
import { FUNCTIONS, handlerPath, type FunctionName, type LogLevel } from '../definitions.ts';

/** The repository root: entries, package-lock.json and tsconfig.json are found from here, whatever the cwd. */
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** DynamoDB actions a function may be granted; a union, so a wildcard cannot be written. */
export type DynamoAction = 'GetItem' | 'BatchGetItem' | 'Query' | 'Scan' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'ConditionCheckItem' | 'DescribeTable';

/** SQS actions a function may be granted for sending (consuming goes through {@link ServiceFunction.consume}). */
export type SqsSendAction = 'SendMessage';

/** The table resources a function can be told about. */
export type TableResource = Extract<Resource, `${string}Table`>;

/** The queue resources a function can send to. */
export type QueueResource = Extract<Resource, `${string}QueueUrl` | 'queueUrl'>;

/** Logging and metrics settings shared by every function. */
export interface ObservabilitySettings {
  readonly serviceName: string;
  readonly metricsNamespace: string;
  readonly logLevel: LogLevel;
  readonly logRetention: RetentionDays;
}

export interface ServiceFunctionProps {
  /** Which function: the handler `functions/<name>/handler.ts`, with the description, timeout and memory of its definition (FUNCTIONS). */
  readonly name: FunctionName;
  readonly settings: Readonly<SyncSettings>;
  readonly observability: ObservabilitySettings;
  /** @default the definition's timeout (the applier's is configurable) */
  readonly timeout?: Duration;
  readonly reservedConcurrentExecutions?: number;
  /** Applies to the log group: RETAIN keeps a deleted stack's logs. */
  readonly removalPolicy: RemovalPolicy;
  /** Extra environment, merged over the defaults. */
  readonly environment?: Readonly<Record<string, string>>;
}

/** A Lambda function of this system, with its own role, log group and settings. */
export class ServiceFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    const definition = FUNCTIONS[props.name];
    // Its own role without AWSLambdaBasicExecutionRole: that managed policy may write every log group.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.name} function`,
    });
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.observability.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.logGroup.grantWrite(this.role);

    const settingsEnv = Object.fromEntries(
      (Object.keys(SETTINGS_ENV) as (keyof SyncSettings)[]).map((field) => [SETTINGS_ENV[field], String(props.settings[field])]),
    );
    this.function = new NodejsFunction(this, 'Function', {
      entry: `${PROJECT_ROOT}${handlerPath(props.name)}`,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      description: definition.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: definition.memoryMB,
      timeout: props.timeout ?? Duration.seconds(definition.timeoutSeconds),
      role: this.role,
      logGroup: this.logGroup,
      ...(props.reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      environment: {
        // `sourceMap` only writes the map; Node reads it for stack traces with this flag.
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.observability.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: props.observability.metricsNamespace,
        POWERTOOLS_LOG_LEVEL: props.observability.logLevel,
        ...settingsEnv,
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        // Stack traces need the mappings, not a copy of the sources: keeps the asset small.
        sourcesContent: false,
        // Prefer the ESM build of packages without an `exports` map. No createRequire banner: every
        // dependency resolves to ESM today, and test/infra checks that no bundle needs `require`.
        mainFields: ['module', 'main'],
        // Bundled and tree-shaken, the SDK loads faster than the runtime's full copy (TOOLCHAIN.md).
        bundleAwsSDK: true,
        // Never Docker: the machines that synthesize this have none, and esbuild is a dependency.
        forceDockerBundling: false,
        logLevel: EsbuildLogLevel.WARNING,
      },
    });
  }

  /** Grants exactly `actions` on `table` and sets the table's name in the variable RESOURCE_ENV names. */
  useTable(resource: TableResource, table: ITable, actions: readonly [DynamoAction, ...DynamoAction[]]): this {
    table.grant(this.function, ...actions.map((action) => `dynamodb:${action}`));
    this.function.addEnvironment(RESOURCE_ENV[resource], table.tableName);
    return this;
  }

  /** Grants exactly `actions` on `queue` and sets its URL in the variable RESOURCE_ENV names for `resource`. */
  useQueue(resource: QueueResource, queue: IQueue, actions: readonly [SqsSendAction, ...SqsSendAction[]]): this {
    queue.grant(this.function, ...actions.map((action) => `sqs:${action}`));
    this.function.addEnvironment(RESOURCE_ENV[resource], queue.queueUrl);
    return this;
  }

  /**
   * Consumes `queue` through an SQS event source with partial batch responses; the event source
   * grants the receive/delete/visibility actions it needs. With `urlAs`, the function is also told
   * the queue's URL (to change a failed record's visibility itself, which that grant allows).
   */
  consume(queue: IQueue, options: { readonly batchSize: number; readonly maxConcurrency: number; readonly urlAs?: QueueResource }): this {
    this.function.addEventSource(
      new SqsEventSource(queue, { batchSize: options.batchSize, maxConcurrency: options.maxConcurrency, reportBatchItemFailures: true }),
    );
    if (options.urlAs !== undefined) this.function.addEnvironment(RESOURCE_ENV[options.urlAs], queue.queueUrl);
    return this;
  }
}
