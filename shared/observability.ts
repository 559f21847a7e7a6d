/**
 * One logger and one metrics object per function container (STYLE §6). Service name and metric
 * namespace come from the Powertools environment variables the stack sets.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

export const logger = new Logger();
export const metrics = new Metrics({ defaultDimensions: { stream: process.env.STREAM_NAME ?? 'main' } });
