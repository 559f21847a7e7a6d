/**
 * What the adapter tests share: a document client for the mocks to intercept, the SDK errors the
 * adapters translate, and a way to count calls in flight.
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { setTimeout as delay } from 'node:timers/promises';

/** A document client configured as `createDocumentClient` does; `mockClient` intercepts its sends. */
export function documentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
}

export function conditionFailed(): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
}

/** An error that is not a failed condition: throttling, after the SDK's own retries. */
export function throttled(): Error {
  return Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ProvisionedThroughputExceededException' });
}

/** A resolver for mocks that records how many calls were in flight at once. */
export function inFlightCounter(): { track: <T>(result: () => T, ms?: number) => Promise<T>; readonly max: number; readonly current: number } {
  let current = 0;
  let max = 0;
  return {
    async track<T>(result: () => T, ms = 5): Promise<T> {
      current += 1;
      max = Math.max(max, current);
      try {
        await delay(ms);
        return result();
      } finally {
        current -= 1;
      }
    },
    get max() {
      return max;
    },
    get current() {
      return current;
    },
  };
}

export const noSleep = async (): Promise<void> => {
  // Tests never wait for backoff.
};

/** The expressions of a request and the placeholders they define. */
interface ExpressionInput {
  readonly UpdateExpression?: string | undefined;
  readonly ConditionExpression?: string | undefined;
  readonly KeyConditionExpression?: string | undefined;
  readonly ProjectionExpression?: string | undefined;
  readonly FilterExpression?: string | undefined;
  readonly ExpressionAttributeNames?: Record<string, string> | undefined;
  readonly ExpressionAttributeValues?: Record<string, unknown> | undefined;
}

/**
 * The `#name` and `:value` placeholders a request's expressions use, and those it defines:
 * DynamoDB refuses a request that defines one it does not use, or uses one it does not define.
 */
export function placeholders(input: ExpressionInput | undefined): { used: { names: string[]; values: string[] }; defined: { names: string[]; values: string[] } } {
  const expressions = [input?.UpdateExpression, input?.ConditionExpression, input?.KeyConditionExpression, input?.ProjectionExpression, input?.FilterExpression].join(' ');
  const used = (pattern: RegExp): string[] => [...new Set(expressions.match(pattern))].sort();
  return {
    used: { names: used(/#\w+/g), values: used(/:\w+/g) },
    defined: { names: Object.keys(input?.ExpressionAttributeNames ?? {}).sort(), values: Object.keys(input?.ExpressionAttributeValues ?? {}).sort() },
  };
}
