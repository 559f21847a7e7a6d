/** Every command of `microbatch`, in the order `--help` lists them. */
import type { RegisterCommand } from '../program.ts';
import { registerIngest } from './ingest.ts';

export const COMMANDS: readonly RegisterCommand[] = [registerIngest];
