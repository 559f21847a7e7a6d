/**
 * Why the applier failed a message, from its own log: every failure is logged as
 * `microbatch failed: …` with the record's `messageId` and the error (functions/applier/handler.ts),
 * and SQS keeps a message's id when it moves it to the dead-letter queue. One FilterLogEvents per
 * message on the applier's log group (Lambda's logging config names it; the stack creates its own).
 */
import { FilterLogEventsCommand, type CloudWatchLogsClient, type FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { GetFunctionConfigurationCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import pLimit from 'p-limit';

/** FilterLogEvents calls in flight at once (the API allows 5 per second per account and region). */
const CONCURRENCY = 4;
/** How far before a message was first sent its failures can be logged: none, but clocks differ. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;
/** Pages of one search before giving up on finding the message. */
const MAX_PAGES = 20;

export interface ReasonQuery {
  readonly messageId: string;
  /** When the message was first sent (the search starts a little before). */
  readonly sentAt?: string;
}

/** The applier's log group: from its logging config, else Lambda's default name. */
export async function applierLogGroup(lambda: LambdaClient, functionName: string): Promise<string> {
  const configuration = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
  return configuration.LoggingConfig?.LogGroup ?? `/aws/lambda/${functionName}`;
}

/** The reason in one logged line: the error's name and message, else the line's message. */
export function reasonOf(line: string): string {
  try {
    const record = JSON.parse(line) as { message?: unknown; error?: { name?: unknown; message?: unknown } };
    const { error } = record;
    if (error !== undefined && typeof error.message === 'string') return `${typeof error.name === 'string' ? `${error.name}: ` : ''}${error.message}`;
    if (typeof record.message === 'string') return record.message;
  } catch {
    // Not a structured line: quote it as it is.
  }
  return line.trim();
}

/** The latest logged failure of each message, by id; a message with none found is absent. */
export async function failureReasons(
  queries: readonly ReasonQuery[],
  clients: { readonly logs: CloudWatchLogsClient; readonly logGroupName: string },
): Promise<Map<string, string>> {
  const reasons = new Map<string, string>();
  const limit = pLimit(CONCURRENCY);
  await Promise.all(
    queries.map(({ messageId, sentAt }) =>
      limit(async () => {
        const startTime = sentAt === undefined ? undefined : Date.parse(sentAt) - CLOCK_SKEW_MS;
        const events: FilteredLogEvent[] = [];
        let nextToken: string | undefined;
        // A filtered search pages through the group's streams, and may return empty pages on the way.
        for (let page = 0; page < MAX_PAGES; page += 1) {
          const answer = await clients.logs.send(
            new FilterLogEventsCommand({
              logGroupName: clients.logGroupName,
              filterPattern: `{ $.messageId = "${messageId}" && $.level = "ERROR" }`,
              ...(startTime === undefined ? {} : { startTime }),
              ...(nextToken === undefined ? {} : { nextToken }),
            }),
          );
          events.push(...(answer.events ?? []));
          nextToken = answer.nextToken;
          if (nextToken === undefined) break;
        }
        const latest = events.reduce<FilteredLogEvent | undefined>((last, event) => ((event.timestamp ?? 0) >= (last?.timestamp ?? -1) ? event : last), undefined);
        if (latest?.message !== undefined) reasons.set(messageId, reasonOf(latest.message));
      }),
    ),
  );
  return reasons;
}
