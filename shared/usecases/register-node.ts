/**
 * Registers a node (or changes its rate or status): validated here so every entry point — the
 * local runtime, scripts, tests — gets the same clear errors.
 */
import { validateRate } from '#shared/domain/config.ts';
import { ValidationError } from '#shared/domain/errors.ts';
import type { NodeRegistration, NodeRepository } from '#shared/domain/ports.ts';
import { NODE_ID_PATTERN, NODE_ID_RULE } from '#shared/domain/identifiers.ts';

export async function registerNode(registration: NodeRegistration, deps: { readonly nodes: Pick<NodeRepository, 'register'> }): Promise<void> {
  if (!NODE_ID_PATTERN.test(registration.nodeId)) {
    throw new ValidationError('invalid node', [`nodeId: must be ${NODE_ID_RULE} (got ${JSON.stringify(registration.nodeId)})`]);
  }
  validateRate(registration.rate);
  // Registrations come from scripts and JSON files too, where the type is only a hope.
  const status: unknown = registration.status;
  if (status !== undefined && status !== 'active' && status !== 'paused') {
    throw new ValidationError('invalid node', [`status: must be 'active' or 'paused' (got ${JSON.stringify(status)})`]);
  }
  await deps.nodes.register(registration);
}
