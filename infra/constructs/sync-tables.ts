/**
 * The deployment's DynamoDB tables, built from {@link TABLES}: on-demand, encrypted, point-in-time
 * recovery where the definition asks for it, TTL where it names an attribute.
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption, type CfnTable, type ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLES, type KeyAttribute, type TableDefinition } from '../definitions.ts';

export interface SyncTablesProps {
  /** RETAIN keeps the tables (and their data) when the stack is deleted; DESTROY is for dev stacks. */
  readonly removalPolicy: RemovalPolicy;
}

const ATTRIBUTE_TYPES = { S: AttributeType.STRING, N: AttributeType.NUMBER, B: AttributeType.BINARY } as const;

function attribute(key: KeyAttribute): { name: string; type: AttributeType } {
  return { name: key.name, type: ATTRIBUTE_TYPES[key.type] };
}

/** The six tables: Log, Nodes, Replica, Convergence, ingest's IngestRequests and the planner shards' Plans. */
export class SyncTables extends Construct {
  readonly log: ITable;
  readonly nodes: ITable;
  readonly replica: ITable;
  readonly convergence: ITable;
  readonly ingestRequests: ITable;
  readonly plans: ITable;

  constructor(scope: Construct, id: string, props: SyncTablesProps) {
    super(scope, id);
    this.log = this.table(TABLES.log, props);
    this.nodes = this.table(TABLES.nodes, props);
    this.replica = this.table(TABLES.replica, props);
    this.convergence = this.table(TABLES.convergence, props);
    this.ingestRequests = this.table(TABLES.ingestRequests, props);
    this.plans = this.table(TABLES.plans, props);
  }

  private table(definition: TableDefinition, props: SyncTablesProps): Table {
    const retain = props.removalPolicy === RemovalPolicy.RETAIN;
    const table = new Table(this, definition.logicalId, {
      partitionKey: attribute(definition.partitionKey),
      ...(definition.sortKey === undefined ? {} : { sortKey: attribute(definition.sortKey) }),
      billingMode: BillingMode.PAY_PER_REQUEST,
      // The AWS managed key (aws/dynamodb): its use shows in CloudTrail, it costs nothing a month,
      // and needs no key policy. A customer managed key would add a monthly fee and a key policy to
      // maintain without protecting anything more here (no cross-account access, no key-level revocation plan).
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: definition.pointInTimeRecovery },
      ...(definition.timeToLiveAttribute === undefined ? {} : { timeToLiveAttribute: definition.timeToLiveAttribute }),
      // A retained table is production data: deleting it takes a deliberate console or API step.
      deletionProtection: retain,
      removalPolicy: props.removalPolicy,
    });
    // Fixed logical ids: moving or renaming this construct must never replace a table.
    (table.node.defaultChild as CfnTable).overrideLogicalId(definition.logicalId);
    if (!definition.pointInTimeRecovery) {
      Validations.of(table).acknowledge({
        id: 'AwsSolutions-DDB3',
        reason: `${definition.logicalId} holds short-lived, expiring records that need no point-in-time recovery.`,
      });
    }
    return table;
  }
}
