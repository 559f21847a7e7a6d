/**
 * The local runtime's failures that decide the command line's exit code (STYLE, "A command line"):
 * a bad argument is the user's to fix (exit 2), a missing tool is the machine's (exit 3).
 */
import { MicrobatchSyncError } from '#shared/domain/errors.ts';

/** An option or argument is invalid; the message names it. */
export class UsageError extends MicrobatchSyncError {}

/** The machine lacks something the emulators need (Java 17+), or an emulator would not start. */
export class EnvironmentError extends MicrobatchSyncError {}
