/** Every command of `microbatch`, in the order `--help` lists them. */
import type { RegisterCommand } from '../program.ts';
import { registerAudit } from './audit.ts';
import { registerDlq } from './dlq.ts';
import { registerIngest } from './ingest.ts';

export const COMMANDS: readonly RegisterCommand[] = [registerIngest, registerDlq, registerAudit];
