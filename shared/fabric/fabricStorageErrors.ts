// Translates storage SDK errors (blob and table) into Inventory codes, at the fabric's edge.
import { INVENTORY_ERROR_CODES, InventoryError, type InventoryErrorCode } from '../inventory/inventoryErrors';

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  details?: { errorCode?: string };
}

function shape(err: unknown): RestErrorLike {
  return typeof err === 'object' && err !== null ? err : {};
}

/** The service's error code (x-ms-error-code), where the SDK put it. */
export function storageErrorCode(err: unknown): string | undefined {
  const e = shape(err);
  return e.details?.errorCode ?? e.code;
}

export function storageStatus(err: unknown): number | undefined {
  return shape(err).statusCode;
}

const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const TRANSIENT_NET = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'REQUEST_SEND_ERROR',
]);

export function isTransientStorageError(err: unknown): boolean {
  const status = storageStatus(err);
  if (status !== undefined && TRANSIENT_STATUS.has(status)) return true;
  const code = storageErrorCode(err);
  return code !== undefined && TRANSIENT_NET.has(code);
}

/** Any storage error becomes an InventoryError; 404 becomes `notFound` when given. */
export function translateStorageError(
  err: unknown,
  what: string,
  notFound?: InventoryErrorCode,
): InventoryError {
  if (err instanceof InventoryError) return err;
  const status = storageStatus(err);
  let code: InventoryErrorCode = INVENTORY_ERROR_CODES.FAILED;
  if (status === 404 && notFound) code = notFound;
  else if (isTransientStorageError(err)) code = INVENTORY_ERROR_CODES.TRANSIENT;
  const detail = storageErrorCode(err) ?? (status !== undefined ? `HTTP ${status}` : 'error');
  return new InventoryError(code, `${what}: ${detail}`, { cause: err });
}
