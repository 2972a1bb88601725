/**
 * Maps domain errors to `application/problem+json` responses in one place
 * (`app.onError`). Anything that is not a domain error is a 500 whose body says only
 * that; the detail goes to the log, never to the client.
 */
import type { Context } from "hono";
import { DomainError, type DomainErrorCode, Unavailable } from "../../domain/errors.ts";

const STATUS: Record<DomainErrorCode, 400 | 401 | 404 | 409 | 413 | 415 | 422 | 503> = {
  validation: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  limit_exceeded: 422,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unsupported: 422,
  unavailable: 503,
};

export function problem(
  c: Context,
  status: number,
  title: string,
  detail: string,
  extra: Record<string, unknown> = {},
): Response {
  return c.body(JSON.stringify({ type: "about:blank", title, status, detail, ...extra }), status as 400, {
    "content-type": "application/problem+json",
  });
}

export function errorResponse(error: Error, c: Context, log: (error: unknown) => void): Response {
  if (error instanceof DomainError) {
    const status = STATUS[error.code];
    if (error instanceof Unavailable) c.header("retry-after", String(error.retryAfterSeconds));
    return problem(c, status, error.code, error.message);
  }
  if (error instanceof SyntaxError) {
    return problem(c, 400, "validation", `Cannot parse the body: ${error.message}`);
  }
  log(error);
  return problem(c, 500, "internal", "The request could not be completed because of an internal error");
}
