/**
 * `npm run nodes -- …`: register, re-rate, pause or list the nodes of a deployed stack (or of any
 * Nodes table the SDK can reach), through the same use case and adapter the system uses.
 *
 *   npm run nodes -- register n-1 --rate 50 --table <NodesTableName>
 *   npm run nodes -- register n-1 --rate 50 --status paused --table <NodesTableName>
 *   npm run nodes -- list --table <NodesTableName> [--json]
 *
 * Credentials and region come from the usual AWS environment (profile, AWS_REGION, …).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { createDocumentClient } from '#shared/clients.ts';
import { ConfigError, ValidationError } from '#shared/domain/errors.ts';
import { listActive } from '#shared/domain/ports.ts';
import { registerNode } from '#shared/usecases/register-node.ts';

function positiveNumber(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('must be a positive number of updates per second');
  return number;
}

function repository(options: { table: string; endpoint?: string }): DynamoNodeRepository {
  return new DynamoNodeRepository(createDocumentClient(options.endpoint === undefined ? {} : { endpoint: options.endpoint }), options.table);
}

const table = new Option('--table <name>', 'the Nodes table (stack output NodesTableName)').makeOptionMandatory();
const endpoint = new Option('--endpoint <url>', 'a DynamoDB endpoint other than AWS (e.g. DynamoDB Local)');

const program = new Command('nodes').description('Manage the nodes of a Microbatch Sync deployment').exitOverride();

program
  .command('register')
  .description('create a node with empty cursors, or change the rate or status of an existing one')
  .argument('<nodeId>', 'the node id: 1–64 characters of A-Z a-z 0-9 _ . -')
  .requiredOption('--rate <updatesPerSecond>', 'r_i: updates per second the node absorbs', positiveNumber)
  .addOption(new Option('--status <status>', 'active or paused').choices(['active', 'paused']).default('active'))
  .addOption(table)
  .addOption(endpoint)
  .action(async (nodeId: string, options: { rate: number; status: 'active' | 'paused'; table: string; endpoint?: string }) => {
    await registerNode({ nodeId, rate: options.rate, status: options.status }, { nodes: repository(options) });
    process.stdout.write(`registered ${nodeId}: rate ${options.rate}/s, ${options.status}\n`);
  });

program
  .command('list')
  .description('list the active nodes with their cursors')
  .addOption(table)
  .addOption(endpoint)
  .option('--json', 'print JSON')
  .action(async (options: { table: string; endpoint?: string; json?: boolean }) => {
    const { nodes, rejected } = await listActive(repository(options));
    if (options.json === true) {
      process.stdout.write(`${JSON.stringify({ nodes, rejected }, null, 2)}\n`);
      return;
    }
    for (const node of nodes.sort((a, b) => a.nodeId.localeCompare(b.nodeId))) {
      process.stdout.write(`${node.nodeId}\trate ${node.rate}/s\tapplied ${node.appliedSeq}\tplanned ${node.plannedSeq}\n`);
    }
    // Items written by hand that the planner and checker skip: say so where a person looks.
    for (const item of rejected) {
      process.stdout.write(`${item.nodeId}\tNOT A VALID NODE (skipped by the planner and checker): ${item.attribute} ${item.problem}\n`);
    }
  });

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof ValidationError || error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  if (error instanceof Error && 'exitCode' in error && typeof error.exitCode === 'number') process.exit(error.exitCode === 0 ? 0 : 2);
  throw error;
}
