/**
 * Domain errors carry a stable code that the HTTP layer maps to a status and an
 * `application/problem+json` body. Messages say what could not be done and why.
 *
 * @example
 * throw new ValidationError('Cannot ingest series "cpu": label name "1x" is invalid');
 */
export type DomainErrorCode =
  | "validation"
  | "unauthorized"
  | "not_found"
  | "conflict"
  | "limit_exceeded"
  | "payload_too_large"
  | "unsupported_media_type"
  | "unsupported"
  | "unavailable";

export abstract class DomainError extends Error {
  abstract readonly code: DomainErrorCode;
}

export class ValidationError extends DomainError {
  readonly code = "validation";
}

export class Unauthorized extends DomainError {
  readonly code = "unauthorized";
}

export class NotFound extends DomainError {
  readonly code = "not_found";
}

export class Conflict extends DomainError {
  readonly code = "conflict";
}

export class LimitExceeded extends DomainError {
  readonly code = "limit_exceeded";
}

/** Valid input that this system does not implement, such as a PromQL function it lacks. */
export class Unsupported extends DomainError {
  readonly code = "unsupported";
}

export class PayloadTooLarge extends DomainError {
  readonly code = "payload_too_large";
}

/** A body in a content type or encoding this endpoint does not speak. */
export class UnsupportedMediaType extends DomainError {
  readonly code = "unsupported_media_type";
}

/** The command log or a store cannot accept work right now; the caller should retry. */
export class Unavailable extends DomainError {
  readonly code = "unavailable";
  constructor(message: string, readonly retryAfterSeconds = 1) {
    super(message);
  }
}
