/**
 * The microbatch message on the wire (DESIGN §3): how the planner writes it and names it for SQS.
 * Reading it back, with validation, is `parseMicrobatch` in schemas.ts (the applier's side).
 */
import type { Microbatch } from './types.ts';

export function serializeMicrobatch(microbatch: Microbatch): string {
  return JSON.stringify(microbatch);
}

/**
 * `nodeId:interval:index:target`: a duplicate planner run for the same interval makes the same plan
 * and re-sends the same ids, which SQS drops within its 5-minute window; a later interval's tokens
 * get new ones. The three numbers never hold a colon, so ids stay unique whatever the node id holds.
 */
export function deduplicationId(microbatch: Microbatch): string {
  return `${microbatch.nodeId}:${microbatch.interval}:${microbatch.index}:${microbatch.target}`;
}
