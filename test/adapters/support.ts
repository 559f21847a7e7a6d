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
