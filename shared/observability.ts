/**
 * One logger and one metrics object per function container (STYLE §6). Service name and metric
 * namespace come from the Powertools environment variables the stack sets; the `stream` dimension
 * from the function's settings (STREAM_NAME), loaded and checked like every other setting.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { loadSettings } from './config.ts';
import type { MetricName } from './metrics.ts';

export const logger = new Logger();
export const metrics = new Metrics({ defaultDimensions: { stream: loadSettings().stream } });

/** Adds one Count metric per entry (`{ [METRIC.NodesPlanned]: 3, … }`); an entry left undefined is not emitted. */
export function addCounts(counts: Partial<Record<MetricName, number | undefined>>): void {
  for (const name of Object.keys(counts) as MetricName[]) {
    const value = counts[name];
    if (value !== undefined) metrics.addMetric(name, MetricUnit.Count, value);
  }
}
