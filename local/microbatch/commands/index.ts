/** Every command of `microbatch`, in the order `--help` lists them. */
import type { RegisterCommand } from '../program.ts';
import { registerAdvise } from './advise.ts';

export const COMMANDS: readonly RegisterCommand[] = [registerAdvise];
