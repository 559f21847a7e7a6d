/**
 * Starts DynamoDB Local and fauxqs once per test run, for every integration test file; each file
 * creates its own tables and queues in them (unique names), so files can run side by side.
 */
import type { TestProject } from 'vitest/node';
import { startEmulators, type EmulatorEndpoints } from '#local/emulators.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    emulators: EmulatorEndpoints;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const emulators = await startEmulators();
  project.provide('emulators', emulators.endpoints);
  return () => emulators.stop();
}
