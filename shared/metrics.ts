/**
 * Every metric the functions emit, by name: the one list the handlers emit from, the alarms and
 * dashboard (infra/constructs/monitoring.ts) read from, and the tests assert on. Each is an EMF
 * metric in POWERTOOLS_METRICS_NAMESPACE with the dimensions `service` and `stream`, emitted once
 * per invocation. Lambda bundles import this module: plain strings only, nothing else.
 */
export const METRIC = {
  // Planner coordinator, per tick.
  /** Shards the interval's planning was cut into. */
  PlanShards: 'PlanShards',
  /** 1 for a tick not planned because it came too late: a later tick was planned, or the checker had closed past it. */
  StaleTicks: 'StaleTicks',

  // Planner shards, per shard: sum them over an interval for the tick.
  /** Nodes that were sent tokens. */
  NodesPlanned: 'NodesPlanned',
  /** Tokens sent. */
  MicrobatchesPlanned: 'MicrobatchesPlanned',
  /** New updates planned: Σ q_i. */
  UpdatesPlanned: 'UpdatesPlanned',
  /** Nodes whose outstanding tokens were re-sent because their cursor stood still for staleAfterIntervals. */
  TokensResent: 'TokensResent',
  /** Nodes left unplanned because SQS refused some of their tokens (the next interval plans them). */
  UnsentNodes: 'UnsentNodes',
  /** Nodes items that are not valid nodes, skipped (the checker shards skip and log them too). */
  RejectedNodes: 'RejectedNodes',
  /** Active nodes planned from their items' plan fields: new nodes, or history not found in their segment's record. */
  NodesWithoutPlanHistory: 'NodesWithoutPlanHistory',
  /** Nodes that did not fit their segment's plan record, whose plans were claimed on their own items. */
  SpilledNodes: 'SpilledNodes',
  /** Shard tasks (planner or checker) that arrived after the next tick: acknowledged without work. */
  ShardTasksExpired: 'ShardTasksExpired',

  // Applier, per batch of records.
  /** Microbatches applied (the cursor moved). */
  MicrobatchesApplied: 'MicrobatchesApplied',
  /** Updates those microbatches applied. */
  UpdatesApplied: 'UpdatesApplied',
  /** Replica items written (updates collapsed to the last op per key). */
  ReplicaWrites: 'ReplicaWrites',
  /** Microbatches the node's cursor had already passed. */
  DuplicatesSkipped: 'DuplicatesSkipped',
  /** Microbatches for a node that is unknown or paused, acknowledged unapplied. */
  InactiveNodeMicrobatches: 'InactiveNodeMicrobatches',
  /** Microbatches failed back to the queue, to be retried and then dead-lettered. */
  MicrobatchesFailed: 'MicrobatchesFailed',
  /**
   * Of those, the ones whose log entries do not continue the node's hash chain (IntegrityError): the
   * log or the node's cursor was changed outside the system. Counts attempts, so one bad microbatch
   * counts at every receive until it is dead-lettered.
   */
  MicrobatchIntegrityFailures: 'MicrobatchIntegrityFailures',

  // Checker, per tick (emitted by the shard that merges the tick): the first five measure the nodes against the current head.
  /** The largest staleness of a node, in seconds. */
  ConvergenceLagSeconds: 'ConvergenceLagSeconds',
  /** Active nodes below the head. */
  LaggingNodes: 'LaggingNodes',
  /** The largest lag of a node, in updates. */
  MaxLagUpdates: 'MaxLagUpdates',
  /** Nodes whose chain differs from the log's at their cursor: their data differs from the source. */
  IntegrityFailedNodes: 'IntegrityFailedNodes',
  /** Nodes whose ceil(rate × t) is below the average ingest per interval. */
  UnderProvisionedNodes: 'UnderProvisionedNodes',
  /** 1 when the newest planned interval has converged, else 0; not emitted before the first plan. */
  Converged: 'Converged',
  /** Intervals that left the open window without converging. */
  IntervalsExpired: 'IntervalsExpired',
  /** Intervals closed unjudged because their plan was never whole (a planner shard gave up or never reported). */
  IncompletePlans: 'IncompletePlans',
  /** Check ticks whose shards never all reported: their verdicts were not merged (the next ticks judge afresh). */
  UnmergedChecks: 'UnmergedChecks',

  // Ingest, per request.
  /** Updates this request appended to the log (a retry counts only what it appended). */
  UpdatesIngested: 'UpdatesIngested',
  /**
   * Updates of a request with an idempotency key whose chunks were already committed — by an
   * earlier attempt, or by a duplicate that won the race — answered again and not appended.
   */
  UpdatesReplayed: 'UpdatesReplayed',
  /** Transactions that lost the head race or were throttled, and were retried. */
  AppendRetries: 'AppendRetries',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];
