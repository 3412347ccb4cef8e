// Port: can the app reach its storage account? Adapters answer per service and never throw.

export const STORAGE_SERVICES = ['blob', 'queue', 'table'] as const;
export type StorageService = (typeof STORAGE_SERVICES)[number];

/**
 * Namespaced codes (STYLE §4): strings survive process and HTTP boundaries where classes do not.
 * Messages that go with them are ours, never the SDK's, which can contain URLs with SAS signatures.
 */
export const STORAGE_PROBE_ERROR = {
  TIMEOUT: 'STORAGE.TIMEOUT',
  UNREACHABLE: 'STORAGE.UNREACHABLE',
  AUTH_FAILED: 'STORAGE.AUTH_FAILED',
  UNAVAILABLE: 'STORAGE.UNAVAILABLE',
  FAILED: 'STORAGE.FAILED',
} as const;
export type StorageProbeErrorCode = (typeof STORAGE_PROBE_ERROR)[keyof typeof STORAGE_PROBE_ERROR];

export interface ServiceProbeError {
  readonly code: StorageProbeErrorCode;
  readonly message: string;
}

export interface ServiceProbeResult {
  readonly ok: boolean;
  /** Wall time of the call in whole milliseconds, including a timeout. */
  readonly latencyMs: number;
  readonly error?: ServiceProbeError;
}

export type StorageProbeResult = Readonly<Record<StorageService, ServiceProbeResult>>;

export interface StorageProbe {
  /** Calls each service once; resolves (never rejects) within the adapter's timeout. */
  probe(): Promise<StorageProbeResult>;
}
