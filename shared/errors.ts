// The one error base class for Strongbox. Codes are namespaced strings ('BLOB.NOT_FOUND') because
// `instanceof` does not survive a process or Durable Functions boundary; a code in a message does.

export interface StrongboxErrorOptions {
  /** The lower-level error this one translates (an SDK error, an errno error). */
  cause?: unknown;
}

export class StrongboxError extends Error {
  /** Namespaced code, `AREA.REASON`, stable across releases. */
  readonly code: string;

  constructor(code: string, message: string, options: StrongboxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
}

/** True if `err` carries `code`, whether or not it is a StrongboxError instance (it may have been rebuilt). */
export function hasErrorCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
