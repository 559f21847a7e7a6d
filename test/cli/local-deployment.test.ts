/** `--local` against a state file whose emulators nobody runs any more: one line, exit 3, no stack trace. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localState, writeLocalState } from '#cli/deployment.ts';
import { freePort } from '#local/emulators.ts';
import type { LocalResources } from '#local/resources.ts';
import { validateSettings } from '#shared/domain/config.ts';
import { microbatch } from '#test/support/microbatch-cli.ts';

/** Names for a state file; no table or queue behind them is ever reached. */
const RESOURCES = {
  tables: { log: 'log', nodes: 'nodes', replica: 'replica', convergence: 'convergence', ingestRequests: 'ingest', plans: 'plans' },
  queues: Object.fromEntries(['microbatch', 'microbatchDeadLetter', 'planTasks', 'checkTasks', 'failedTicks'].map((name) => [name, { name, url: `http://127.0.0.1:1/000000000000/${name}`, arn: `arn:${name}` }])),
} as unknown as LocalResources;

describe('a --local command whose emulators do not answer', () => {
  let folder: string;
  let stateFile: string;
  let endpoints: { dynamodb: string; sqs: string };

  beforeEach(async () => {
    folder = mkdtempSync(join(tmpdir(), 'local-deployment-'));
    stateFile = join(folder, 'state.json');
    // Ports free now: nothing listens on them.
    endpoints = { dynamodb: `http://127.0.0.1:${await freePort()}`, sqs: `http://127.0.0.1:${await freePort()}` };
  });

  afterEach(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  function writeState(pid: number): void {
    writeLocalState({ ...localState({ endpoints, resources: RESOURCES, settings: validateSettings({ stream: 'main', intervalSeconds: 10, batchSize: 100 }, 'local') }), pid }, stateFile);
  }

  it.each(['status', 'nodes list', 'dlq list'])('%s: says in one line, exit 3, that the up which wrote the state file has exited', async (command) => {
    // Prepare
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    writeState(gone);

    // Act
    const { code, stdout, stderr } = await microbatch('--state-file', stateFile, ...command.split(' '));

    // Assess
    expect(code).toBe(3);
    expect(stderr).toBe(
      `error: ${stateFile} names emulators nobody answers on (DynamoDB ${endpoints.dynamodb}, SQS ${endpoints.sqs}): ` +
        `the microbatch up that wrote it (pid ${gone}) has exited without removing it; start \`npx microbatch --state-file ${stateFile} up\` again\n`,
    );
    expect(stdout).toBe('');
  });

  it('says the up which wrote the state file still runs but does not answer, when its pid is alive', async () => {
    // Prepare
    writeState(process.pid);

    // Act
    const { code, stderr } = await microbatch('--state-file', stateFile, 'status');

    // Assess
    expect(code).toBe(3);
    expect(stderr).toBe(
      `error: ${stateFile} names emulators nobody answers on (DynamoDB ${endpoints.dynamodb}, SQS ${endpoints.sqs}): ` +
        `the microbatch up that wrote it (pid ${process.pid}) still runs but its emulators do not (it is stopping, or stuck): stop it, then start \`npx microbatch --state-file ${stateFile} up\` again\n`,
    );
  });
});
