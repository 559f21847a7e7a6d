/**
 * One logger and one metrics object per function container (STYLE §6). Service name and metric
 * namespace come from the Powertools environment variables the stack sets; the `stream` dimension
 * from the function's settings (STREAM_NAME), loaded and checked like every other setting.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { loadSettings } from './config.ts';

export const logger = new Logger();
export const metrics = new Metrics({ defaultDimensions: { stream: loadSettings().stream } });
