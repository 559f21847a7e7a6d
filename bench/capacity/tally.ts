/**
 * Adds up what a stretch of DynamoDB traffic cost: the meter's units per table, DynamoDB Local's own
 * figure beside them, and the requests by operation. Tables are named as the local runtime names
 * them (`<prefix>-<random>-<logicalId>`), so the logical table of any run's physical name is its
 * suffix — one catalogue, `infra/definitions.ts`, for keys and names.
 */
import { TABLES, type TableName } from '#infra/definitions.ts';
import type { Exchange } from '../request-recorder.ts';
import { CapacityMeter } from './meter.ts';

/** The logical table (`replica`, `nodes`, …) of a physical table name, or undefined for a table of no run. */
export function logicalTable(physical: string): TableName | undefined {
  return (Object.keys(TABLES) as TableName[]).find((name) => physical.endsWith(`-${TABLES[name].logicalId}`));
}

/** The key attribute names of a physical table. */
export function keyAttributes(physical: string): readonly string[] | undefined {
  const name = logicalTable(physical);
  if (name === undefined) return undefined;
  const definition: (typeof TABLES)[TableName] = TABLES[name];
  return 'sortKey' in definition ? [definition.partitionKey.name, definition.sortKey.name] : [definition.partitionKey.name];
}

export interface CapacityTally {
  requests: number;
  writeUnits: number;
  readUnits: number;
  /** What DynamoDB Local reported through `ReturnConsumedCapacity`. */
  reportedWriteUnits: number;
  reportedReadUnits: number;
  /** Writes refused by their condition (still billed). */
  conditionFailures: number;
  readonly byTable: Partial<Record<TableName, { write: number; read: number }>>;
  readonly byOperation: Record<string, number>;
}

export function emptyTally(): CapacityTally {
  return { requests: 0, writeUnits: 0, readUnits: 0, reportedWriteUnits: 0, reportedReadUnits: 0, conditionFailures: 0, byTable: {}, byOperation: {} };
}

/** A meter that knows the runtime's tables, charging exchanges into tallies. */
export class CapacityLedger {
  private readonly meter = new CapacityMeter(keyAttributes);

  /** Charges `exchanges` (in the order their answers came) into `tally`, and returns it. */
  charge(exchanges: readonly Exchange[], tally: CapacityTally = emptyTally()): CapacityTally {
    for (const exchange of exchanges) {
      if (exchange.service !== 'dynamodb') continue;
      const charge = this.meter.record(exchange);
      tally.requests += 1;
      tally.writeUnits += charge.write;
      tally.readUnits += charge.read;
      tally.reportedWriteUnits += charge.reported.write;
      tally.reportedReadUnits += charge.reported.read;
      if (charge.conditionFailed) tally.conditionFailures += 1;
      tally.byOperation[exchange.operation] = (tally.byOperation[exchange.operation] ?? 0) + 1;
      for (const [physical, units] of Object.entries(charge.byTable)) {
        const name = logicalTable(physical);
        if (name === undefined) continue;
        const entry = (tally.byTable[name] ??= { write: 0, read: 0 });
        entry.write += units.write;
        entry.read += units.read;
      }
    }
    return tally;
  }
}
