/**
 * The nodes' plans as a deployment holds them (DESIGN §5): each segment's newest plan record, for
 * the commands that show a node's plannedSeq (`nodes list`, `plan --dry-run`).
 */
import { DynamoConvergenceStore } from '#shared/adapters/dynamodb/convergence-store.ts';
import { DynamoPlanLedger } from '#shared/adapters/dynamodb/plan-ledger.ts';
import type { PlanHistory } from '#shared/domain/segment-plan.ts';
import { readPlans } from '#shared/usecases/read-plans.ts';
import type { Deployment } from './deployment.ts';

/** Every node's newest plan entry with `interval ≤ upTo` (default: any), by node id. */
export function deploymentPlans(deployment: Deployment, upTo = Number.MAX_SAFE_INTEGER): Promise<Map<string, PlanHistory>> {
  const { document } = deployment.clients;
  return readPlans(deployment.stream, upTo, {
    ledger: new DynamoPlanLedger(document, deployment.resources.plansTable),
    convergence: new DynamoConvergenceStore(document, deployment.resources.convergenceTable),
  });
}
