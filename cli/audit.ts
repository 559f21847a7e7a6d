/**
 * `microbatch audit`: which nodes to audit and at which cursors, read from the deployment, then the
 * one paged audit of `local/audit.ts`. The checker's chain proves that a node *processed* the same
 * updates; only this proves its table still holds them.
 */
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { DynamoReplicaStore } from '#shared/adapters/dynamodb/replica-store.ts';
import { scanPages } from '#shared/adapters/dynamodb/items.ts';
import { NODE_ID_PATTERN, NODE_ID_RULE } from '#shared/domain/identifiers.ts';
import { readNodeItem } from '#shared/domain/node.ts';
import { auditTargets, type AuditProgress, type AuditTarget, type ReplicaAudit } from '#local/audit.ts';
import { plural } from '#local/counts.ts';
import { UsageError } from '#local/errors.ts';
import type { Deployment } from './deployment.ts';
import { table } from './output.ts';

/** The nodes to audit: one (`--node`), or every node of the Nodes table, paused ones included. */
export async function auditTargetsOf(deployment: Deployment, nodeId?: string): Promise<{ targets: AuditTarget[]; rejected: string[] }> {
  const { document } = deployment.clients;
  const nodesTable = deployment.resources.nodesTable;
  if (nodeId !== undefined && !NODE_ID_PATTERN.test(nodeId)) throw new UsageError(`--node ${JSON.stringify(nodeId)}: a node id must be ${NODE_ID_RULE}`);
  const targets: AuditTarget[] = [];
  const rejected: string[] = [];
  for await (const { items } of scanPages(document, { TableName: nodesTable, ConsistentRead: true })) {
    for (const item of items) {
      const read = readNodeItem(item);
      if ('rejected' in read) rejected.push(`${read.rejected.nodeId}: ${read.rejected.attribute} ${read.rejected.problem}`);
      else if (nodeId === undefined || read.node.nodeId === nodeId) targets.push({ nodeId: read.node.nodeId, appliedSeq: read.node.appliedSeq });
    }
  }
  if (nodeId !== undefined && targets.length === 0) throw new UsageError(`no node ${nodeId} in ${nodesTable}: see \`microbatch nodes list\``);
  targets.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  return { targets, rejected };
}

export async function auditDeployment(
  deployment: Deployment,
  targets: readonly AuditTarget[],
  options: { readonly maxExamples: number; readonly onProgress?: (progress: AuditProgress) => void },
): Promise<ReplicaAudit> {
  const { document } = deployment.clients;
  return auditTargets(targets, {
    stream: deployment.stream,
    log: new DynamoLogStore(document, deployment.resources.logTable),
    replica: new DynamoReplicaStore(document, deployment.resources.replicaTable),
    maxExamples: options.maxExamples,
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
}

/** Whether the audit found any difference (exit 1). */
export function auditFailed(audit: ReplicaAudit): boolean {
  return audit.mismatched + audit.missing + audit.extra > 0;
}

/** The audit for a person: a row per node, then the examples. */
export function formatAudit(audit: ReplicaAudit): string {
  const rows = audit.nodes.map((node) => [node.nodeId, node.appliedSeq, node.itemsCompared, node.mismatched, node.missing, node.extra]);
  const verdict = auditFailed(audit)
    ? `DIFFERENT: ${audit.mismatched} mismatched, ${audit.missing} missing, ${audit.extra} extra`
    : `clean: every replica is the replay of the log up to its cursor (${audit.logEntriesRead} log entries read)`;
  const examples = audit.examples.length === 0 ? [] : ['', `first ${plural(audit.examples.length, 'difference')}:`, ...audit.examples.map((text) => `  ${text}`)];
  return [table(['node', 'cursor', 'items', 'mismatched', 'missing', 'extra'], rows), verdict, ...examples].join('\n');
}
