// API errors: stable codes in Azure's shape {"error":{"code","message","target"}}, and the one map from
// code to HTTP status. Services throw ApiError for expected refusals; anything else that reaches
// errorResponseOf is translated here (STATE.* codes) or answered as a 500 that reveals nothing.
import { StrongboxError, hasErrorCode } from '../errors';
import { STATE_ERROR } from '../state/stateStore';
import { OFFLINE_API_ERROR_STATUS, VM_API_ERROR_STATUS } from './workflowErrorCodes';

/** Code -> HTTP status. Codes are part of the public API: never rename or reuse one. */
export const API_ERROR_STATUS = {
  ...VM_API_ERROR_STATUS,
  ...OFFLINE_API_ERROR_STATUS,
  InvalidRequestBody: 400,
  InvalidParameter: 400,
  InvalidResourceName: 400,
  JobNotCancellable: 400,
  AuthenticationFailed: 401,
  AuthorizationFailed: 403,
  VaultNotFound: 404,
  BackupPolicyNotFound: 404,
  ProtectedItemNotFound: 404,
  RecoveryPointNotFound: 404,
  JobNotFound: 404,
  RoleAssignmentNotFound: 404,
  ResourceNotFound: 404,
  ConcurrencyConflict: 409,
  VaultHasProtectedItems: 409,
  VaultLimitExceeded: 409,
  VaultIsBeingDeleted: 409,
  PropertyCannotBeChanged: 409,
  BackupPolicyInUse: 409,
  BackupPolicyLimitExceeded: 409,
  ResourceAlreadyExists: 409,
  InvalidStateTransition: 409,
  RoleAssignmentExists: 409,
  LastOwnerCannotBeDeleted: 409,
  PreconditionFailed: 412,
  RequestBodyTooLarge: 413,
  UnsupportedMediaType: 415,
  InternalServerError: 500,
  ServiceUnavailable: 503,
} as const;
export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

export interface ApiErrorDetail {
  readonly code: ApiErrorCode;
  readonly target: string;
  readonly message: string;
}

export class ApiError extends StrongboxError {
  declare readonly code: ApiErrorCode;
  constructor(
    code: ApiErrorCode,
    message: string,
    readonly target?: string,
    readonly details: readonly ApiErrorDetail[] = [],
    options: { cause?: unknown } = {},
  ) {
    super(code, message, options);
  }

  get status(): number {
    return API_ERROR_STATUS[this.code];
  }
}

export interface ErrorBody {
  readonly error: {
    readonly code: ApiErrorCode;
    readonly message: string;
    readonly target?: string;
    readonly details?: readonly ApiErrorDetail[];
  };
}

export interface ErrorResponse {
  readonly status: number;
  readonly body: ErrorBody;
  /** Only for 500s: the original error, for the log (never for the client). */
  readonly internal?: unknown;
}

function bodyOf(e: ApiError): ErrorBody {
  return {
    error: {
      code: e.code,
      message: e.message,
      ...(e.target !== undefined ? { target: e.target } : {}),
      ...(e.details.length > 0 ? { details: e.details } : {}),
    },
  };
}

/** The single place errors become HTTP answers. */
export function errorResponseOf(err: unknown): ErrorResponse {
  if (err instanceof ApiError) return { status: err.status, body: bodyOf(err) };
  let mapped: ApiError | undefined;
  if (hasErrorCode(err, STATE_ERROR.PRECONDITION_FAILED) || hasErrorCode(err, STATE_ERROR.ALREADY_EXISTS)) {
    // A write lost a race with another writer; the client should read again and retry.
    mapped = new ApiError(
      'ConcurrencyConflict',
      'The resource was changed by another request. Read it again and retry.',
    );
  } else if (hasErrorCode(err, STATE_ERROR.TRANSIENT)) {
    mapped = new ApiError('ServiceUnavailable', 'Storage is temporarily unavailable. Retry later.');
  } else if (hasErrorCode(err, STATE_ERROR.NOT_FOUND)) {
    mapped = new ApiError('ResourceNotFound', 'The resource was not found.');
  }
  if (mapped) return { status: mapped.status, body: bodyOf(mapped) };
  const internal = new ApiError('InternalServerError', 'The server failed to process the request.');
  return { status: internal.status, body: bodyOf(internal), internal: err };
}
