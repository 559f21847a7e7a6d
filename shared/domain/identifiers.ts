/**
 * The rules for names that travel into keys and ids: stream names and node ids. Kept apart from the
 * zod schemas so that a function that only needs a rule (the planner, the checker) does not bundle
 * a schema library for it.
 */

/** The longest idempotency key of an ingest request, in UTF-16 code units (as zod counts a string's length). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;
/** The longest node id or stream name. */
export const MAX_IDENTIFIER_LENGTH = 64;
/** Stream names appear in metric dimensions, table keys and resource names: a safe alphabet. */
export const IDENTIFIER_PATTERN = new RegExp(`^[A-Za-z0-9_.-]{1,${MAX_IDENTIFIER_LENGTH}}$`);
export const IDENTIFIER_RULE = `1–${MAX_IDENTIFIER_LENGTH} characters of A-Z a-z 0-9 _ . -`;
/**
 * The one node-id rule, used by registration, the planner (which skips and reports an id that
 * breaks it) and the applier's message schema: what SQS accepts as a MessageGroupId — letters,
 * digits and ASCII punctuation, no space (SendMessageBatch docs) — so `tenant:42` is a valid id and
 * `tenant 42` is not. 64 characters keep the deduplication id `nodeId:interval:index:target` well
 * inside SQS's 128.
 */
export const NODE_ID_PATTERN = new RegExp(`^[\\x21-\\x7E]{1,${MAX_IDENTIFIER_LENGTH}}$`);
export const NODE_ID_RULE = `1–${MAX_IDENTIFIER_LENGTH} letters, digits or ASCII punctuation (no spaces): what SQS accepts as a message group id`;
