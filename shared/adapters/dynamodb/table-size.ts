/**
 * A table's item count, as DescribeTable reports it. Its own module so that the coordinators,
 * which only size the fleet, do not bundle the whole Nodes table adapter.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { NodeRepository } from '#shared/domain/ports.ts';
import { answered, MissingResponseError } from '../errors.ts';

export interface DynamoTableSizeOptions {
  /** How long a table's item count is trusted before it is read again (default 10 minutes; DynamoDB refreshes it about every six hours). */
  readonly itemCountTtlMs?: number;
  readonly now?: () => number;
}

/** The Nodes table's size: {@link NodeRepository.fleetSize} for whoever needs nothing else of the table. */
export class DynamoTableSize implements Pick<NodeRepository, 'fleetSize'> {
  private readonly itemCountTtlMs: number;
  private readonly now: () => number;
  private itemCount?: { readonly value: number; readonly readAt: number };

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoTableSizeOptions = {},
  ) {
    this.itemCountTtlMs = options.itemCountTtlMs ?? 600_000;
    this.now = options.now ?? Date.now;
  }

  /** The table's item count (refreshed by DynamoDB about every six hours; cached for `itemCountTtlMs`). */
  async fleetSize(): Promise<number> {
    if (this.itemCount === undefined || this.now() - this.itemCount.readAt > this.itemCountTtlMs) {
      const { Table } = answered(await this.doc.send(new DescribeTableCommand({ TableName: this.tableName })), 'DescribeTable', this.tableName);
      if (Table === undefined) throw new MissingResponseError('DescribeTable', this.tableName, 'Table');
      this.itemCount = { value: Table.ItemCount ?? 0, readAt: this.now() };
    }
    return this.itemCount.value;
  }
}
