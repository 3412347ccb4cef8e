// HTTP conditional requests on API resources (RFC 9110 §13.1): one check for every service, so
// If-Match and If-None-Match mean the same on vaults, policies and role assignments.
import { ApiError } from './apiErrors';

export interface Preconditions {
  /** If-Match: the ETag the client read, or '*' for "must exist". */
  readonly ifMatch?: string;
  /** If-None-Match: '*' means "create only". */
  readonly ifNoneMatch?: string;
}

/** Throws 412 PreconditionFailed unless the resource's current ETag (undefined: absent) satisfies `pre`. */
export function checkPreconditions(pre: Preconditions, etag: string | undefined): void {
  if (pre.ifNoneMatch === '*' && etag !== undefined) {
    throw new ApiError(
      'PreconditionFailed',
      'If-None-Match: * was given but the resource exists.',
      'If-None-Match',
    );
  }
  if (pre.ifMatch !== undefined && (etag === undefined || (pre.ifMatch !== '*' && pre.ifMatch !== etag))) {
    throw new ApiError(
      'PreconditionFailed',
      'The If-Match ETag does not match the current resource; read it again.',
      'If-Match',
    );
  }
}
