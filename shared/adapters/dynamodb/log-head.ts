/**
 * The Log table's head item (seq 0: `{ head, headChain, updatedAt }`). Its own module so that the
 * coordinators, which only read the head, do not bundle the whole Log table adapter.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import type { LogReader } from '#shared/domain/ports.ts';
import type { LogHead } from '#shared/domain/types.ts';
import { answered } from '../errors.ts';
import { ItemReader } from './items.ts';

/** The sequence number of the head item; entries start at 1. */
export const HEAD_SEQ = 0;

/** {@link LogReader.readHead} for whoever needs nothing else of the log. */
export class DynamoLogHead implements Pick<LogReader, 'readHead'> {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** The head, consistently read; an empty stream's head is 0 on the genesis chain. */
  async readHead(stream: string): Promise<LogHead> {
    const { Item } = answered(await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { stream, seq: HEAD_SEQ }, ConsistentRead: true })), 'GetItem', this.tableName);
    if (Item === undefined) return { head: 0, headChain: GENESIS_CHAIN };
    const item = new ItemReader(this.tableName, Item);
    const updatedAt = item.optionalString('updatedAt');
    return {
      head: item.number('head'),
      headChain: item.string('headChain'),
      ...(updatedAt === undefined ? {} : { updatedAt }),
    };
  }
}
