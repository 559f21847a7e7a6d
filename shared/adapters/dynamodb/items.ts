/**
 * Reading DynamoDB items back into domain types. The document client hands items over as
 * `Record<string, any>`; every attribute is checked here so that a malformed item fails loudly,
 * naming the table and attribute, instead of leaking `undefined` into the domain.
 */
import type { DynamoDBDocumentClient, PutCommandInput, QueryCommandInput, ScanCommandInput, UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { JsonValue } from '#shared/domain/types.ts';
import { answered, MalformedItemError } from '../errors.ts';

/** An item as the document client returns it. */
export type StoredItem = Readonly<Record<string, unknown>>;

/** Typed, checked access to the attributes of one stored item. */
export class ItemReader {
  constructor(
    private readonly tableName: string,
    private readonly item: StoredItem,
  ) {}

  string(name: string): string {
    const value = this.optionalString(name);
    if (value === undefined) throw this.malformed(name, 'is missing');
    return value;
  }

  optionalString(name: string): string | undefined {
    const value = this.item[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw this.malformed(name, 'is not a string');
    return value;
  }

  /** A string attribute that must be one of `allowed`. */
  oneOf<const T extends string>(name: string, allowed: readonly T[]): T {
    const value = this.string(name);
    const match = allowed.find((candidate) => candidate === value);
    if (match === undefined) throw this.malformed(name, `must be one of ${allowed.join(', ')}`);
    return match;
  }

  /** A string attribute that, when present, must be one of `allowed`. */
  optionalOneOf<const T extends string>(name: string, allowed: readonly T[]): T | undefined {
    return this.item[name] === undefined ? undefined : this.oneOf(name, allowed);
  }

  /** A number set (NS) attribute; an absent set reads as empty. */
  numberSet(name: string): ReadonlySet<number> {
    const value = this.item[name];
    if (value === undefined) return new Set();
    if (!(value instanceof Set) || ![...(value as Set<unknown>)].every((element) => typeof element === 'number')) throw this.malformed(name, 'is not a number set');
    return value as Set<number>;
  }

  number(name: string): number {
    const value = this.optionalNumber(name);
    if (value === undefined) throw this.malformed(name, 'is missing');
    return value;
  }

  optionalNumber(name: string): number | undefined {
    const value = this.item[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'number') throw this.malformed(name, 'is not a number');
    return value;
  }

  boolean(name: string): boolean {
    const value = this.optionalBoolean(name);
    if (value === undefined) throw this.malformed(name, 'is missing');
    return value;
  }

  optionalBoolean(name: string): boolean | undefined {
    const value = this.item[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') throw this.malformed(name, 'is not a boolean');
    return value;
  }

  /** A value stored as JSON text (see {@link toJsonText}); undefined when the attribute is absent. */
  json(name: string): JsonValue | undefined {
    const text = this.optionalString(name);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as JsonValue;
    } catch (error) {
      throw this.malformed(name, 'is not JSON text', { cause: error });
    }
  }

  /** A list attribute whose elements are read with `read`; an absent list reads as empty. */
  list<T>(name: string, read: (element: ItemReader) => T): T[] {
    const value = this.item[name];
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw this.malformed(name, 'is not a list');
    return value.map((element: unknown) => {
      if (typeof element !== 'object' || element === null) throw this.malformed(name, 'holds a non-map element');
      return read(new ItemReader(this.tableName, element as StoredItem));
    });
  }

  /** A map attribute, read with the same checks; undefined when absent. */
  optionalMap(name: string): ItemReader | undefined {
    const value = this.item[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Set || value instanceof Uint8Array) throw this.malformed(name, 'is not a map');
    return new ItemReader(this.tableName, value as StoredItem);
  }

  /** A list of numbers; an absent list reads as empty. */
  numberList(name: string): number[] {
    const value = this.item[name];
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every((element): element is number => typeof element === 'number')) throw this.malformed(name, 'is not a list of numbers');
    return value;
  }

  stringList(name: string): string[] {
    const value = this.item[name];
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every((element): element is string => typeof element === 'string')) {
      throw this.malformed(name, 'is not a list of strings');
    }
    return value;
  }

  private malformed(name: string, message: string, options?: ErrorOptions): MalformedItemError {
    return new MalformedItemError(this.tableName, name, message, options);
  }
}

/**
 * Values are stored as JSON text, not native maps: DynamoDB numbers cannot hold every JSON number
 * (their range is 1e-130…1e126, and -0 is lost) and the hash chain needs an exact round trip.
 */
export function toJsonText(value: JsonValue): string {
  return JSON.stringify(value);
}

/** Drops undefined members so optional fields are absent rather than present-and-undefined. */
export function withoutUndefined<T extends Record<string, unknown>>(fields: T): Partial<{ [K in keyof T]: Exclude<T[K], undefined> }> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<{
    [K in keyof T]: Exclude<T[K], undefined>;
  }>;
}

/** A failed `ConditionExpression` on a single-item write. */
export function isConditionFailed(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException;
}

/** A PutItem whose condition may fail (first writer wins): @returns false when it failed; every other error propagates. */
export async function conditionalPut(doc: DynamoDBDocumentClient, input: PutCommandInput): Promise<boolean> {
  try {
    await doc.send(new PutCommand(input));
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}

/** The last item of a Query in key order (the newest interval of a partition), consistently read; undefined for none. */
export async function newestItem(doc: DynamoDBDocumentClient, input: Omit<QueryCommandInput, 'ScanIndexForward' | 'Limit' | 'ConsistentRead'>): Promise<StoredItem | undefined> {
  const { Items } = answered(await doc.send(new QueryCommand({ ...input, ScanIndexForward: false, Limit: 1, ConsistentRead: true })), 'Query', input.TableName ?? '');
  return Items?.[0];
}

/** An UpdateItem whose condition may fail: @returns false when it failed; every other error propagates. */
export async function conditionalUpdate(doc: DynamoDBDocumentClient, input: UpdateCommandInput): Promise<boolean> {
  try {
    await doc.send(new UpdateCommand(input));
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}

/**
 * Every item of a Query, page by page. A fresh input per page keeps each recorded request as sent
 * (the SDK paginators reuse and mutate one input object).
 */
export async function queryAll(doc: DynamoDBDocumentClient, input: QueryCommandInput): Promise<StoredItem[]> {
  const items: StoredItem[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = answered(await doc.send(new QueryCommand(startKey === undefined ? input : { ...input, ExclusiveStartKey: startKey })), 'Query', String(input.TableName));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}

/**
 * The pages of a Query, one at a time, like {@link scanPages}: a partition of any size passes through
 * bounded memory.
 */
export async function* queryPages(doc: DynamoDBDocumentClient, input: QueryCommandInput): AsyncGenerator<StoredItem[], void, undefined> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = answered(await doc.send(new QueryCommand(startKey === undefined ? input : { ...input, ExclusiveStartKey: startKey })), 'Query', String(input.TableName));
    yield page.Items ?? [];
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
}

/** One page of a Scan: the items it returned, and how many it read before its filter. */
export interface ScanPage {
  readonly items: StoredItem[];
  readonly scanned: number;
}

/**
 * The pages of a Scan (or of one Scan segment), one at a time: the caller works on a page before the
 * next is read, so a table of any size passes through bounded memory.
 */
export async function* scanPages(doc: DynamoDBDocumentClient, input: ScanCommandInput): AsyncGenerator<ScanPage, void, undefined> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = answered(await doc.send(new ScanCommand(startKey === undefined ? input : { ...input, ExclusiveStartKey: startKey })), 'Scan', String(input.TableName));
    const items = page.Items ?? [];
    yield { items, scanned: page.ScannedCount ?? items.length };
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
}
