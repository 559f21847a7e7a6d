/**
 * Event validation for middy: the Powertools parser middleware's idea with our own error, so a bad
 * event fails with a ValidationError that names each bad field (the parser's ParseError says only
 * "Failed to parse schema" and hides the fields in `cause`).
 */
import type { MiddlewareObj } from '@middy/core';
import type * as z from 'zod/mini';
import { parseOrThrow } from '#shared/domain/schemas.ts';

export function validateEvent<T>(schema: z.ZodMiniType<T>, what: string): MiddlewareObj<T> {
  return {
    before: function validateEventBefore(request): void {
      request.event = parseOrThrow(schema, request.event, what);
    },
  };
}
