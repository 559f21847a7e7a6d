/** Every command of `microbatch`, in the order `--help` lists them. */
import type { RegisterCommand } from '../program.ts';
import { registerAdvise } from './advise.ts';
import { registerAudit } from './audit.ts';
import { registerDlq } from './dlq.ts';
import { registerIngest } from './ingest.ts';
import { registerNodes } from './nodes.ts';
import { registerPlan } from './plan.ts';
import { registerStatus } from './status.ts';
import { registerUp } from './up.ts';

export const COMMANDS: readonly RegisterCommand[] = [
  registerUp,
  registerNodes,
  registerIngest,
  registerStatus,
  registerPlan,
  registerDlq,
  registerAudit,
  registerAdvise,
];
