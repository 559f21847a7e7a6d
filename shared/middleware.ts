/**
 * Event validation for middy: the Powertools parser middleware's idea with our own error, so a bad
 * event fails with a ValidationError that names each bad field (the parser's ParseError says only
 * "Failed to parse schema" and hides the fields in `cause`). It takes a parse function, not a
 * schema, so a handler whose event is checked by hand bundles no schema library.
 */
import type { MiddlewareObj } from '@middy/core';

/** Replaces the event with what `parse` makes of it; `parse` throws a ValidationError for a bad one. */
export function validateEvent<T>(parse: (event: unknown) => T): MiddlewareObj<T> {
  return {
    before: function validateEventBefore(request): void {
      request.event = parse(request.event);
    },
  };
}
