import { describe, expect, it } from 'vitest';
import { createDocumentClient, createSqsClient } from '#shared/clients.ts';

describe('createDocumentClient', () => {
  it('retries adaptively up to 5 attempts and drops undefined attributes', async () => {
    // Act
    const doc = createDocumentClient();

    // Assess
    expect(doc.config.retryMode).toBe('adaptive');
    await expect(doc.config.maxAttempts()).resolves.toBe(5);
    expect(doc.config.translateConfig?.marshallOptions?.removeUndefinedValues).toBe(true);
    expect(doc.config.endpoint).toBeUndefined();
  });

  it('talks to the endpoint it is given', async () => {
    // Act
    const doc = createDocumentClient({ endpoint: 'http://127.0.0.1:8000' });

    // Assess
    await expect(doc.config.endpoint?.()).resolves.toMatchObject({ hostname: '127.0.0.1', port: 8000, protocol: 'http:' });
  });
});

describe('createSqsClient', () => {
  it('retries adaptively up to 5 attempts and sends to the queue URL’s host in the cloud', async () => {
    // Act
    const sqs = createSqsClient();

    // Assess
    expect(sqs.config.retryMode).toBe('adaptive');
    await expect(sqs.config.maxAttempts()).resolves.toBe(5);
    expect(sqs.config.endpoint).toBeUndefined();
    expect(sqs.config.useQueueUrlAsEndpoint).toBe(true);
  });

  it('sends everything to an explicit endpoint, whatever host the queue URL names', async () => {
    // Act
    const sqs = createSqsClient({ endpoint: 'http://127.0.0.1:9324' });

    // Assess
    expect(sqs.config.useQueueUrlAsEndpoint).toBe(false);
    await expect(sqs.config.endpoint?.()).resolves.toMatchObject({ hostname: '127.0.0.1', port: 9324 });
  });
});
