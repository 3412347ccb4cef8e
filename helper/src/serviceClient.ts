// The ServiceClient port: what the on-prem helper asks of the Strongbox service. One adapter, over the
// HTTP API (httpServiceClient.ts); tests drive the real API on the local host. Every call is scoped
// to one vault; the caller's bearer token authorizes it (docs/offline-seeding.md "Authentication").
import type { VaultCredentialsFile } from '../../shared/offline/vaultCredentials';

export interface VaultRef {
  readonly subscriptionId: string;
  readonly vaultName: string;
}

export interface DataAccessGrant {
  readonly serverId: string;
  readonly container: string;
  /** Secrets (SAS URLs): never printed or written to disk. */
  readonly blob: { readonly containerUrl: string; readonly expiresTime: string };
  readonly events?: { readonly queueUrl: string; readonly expiresTime: string };
}

/** The API's resources are passed through as JSON; the helper reads the few fields it prints. */
export interface Resource {
  readonly id: string;
  readonly name: string;
  readonly properties: Record<string, unknown>;
}

export interface ImportDriveSpec {
  readonly driveIndex: number;
  readonly driveId: string;
  readonly keyId: string;
  readonly wrappedKey: string;
}

export interface ServiceClient {
  vaultCredentials(v: VaultRef): Promise<VaultCredentialsFile>;
  register(
    v: VaultRef,
    server: string,
    body: { registrationId: string; registrationSecret: string },
  ): Promise<Resource>;
  dataAccess(v: VaultRef, server: string): Promise<DataAccessGrant>;
  protect(
    v: VaultRef,
    server: string,
    body: {
      itemName: string;
      source: { kind: 'directoryTree' | 'diskImage'; path: string };
      policyName: string;
    },
  ): Promise<Resource>;
  postEvent(v: VaultRef, server: string, event: unknown): Promise<{ applied: boolean; outcome: string }>;
  putOfflineBackup(v: VaultRef, name: string, properties: Record<string, unknown>): Promise<Resource>;
  getOfflineBackup(v: VaultRef, name: string): Promise<Resource>;
  listOfflineBackups(v: VaultRef): Promise<Resource[]>;
  putImportJob(
    v: VaultRef,
    name: string,
    properties: { drives: ImportDriveSpec[]; escrowKeyId: string; points?: unknown[] },
  ): Promise<Resource>;
  getImportJob(v: VaultRef, name: string): Promise<Resource>;
  putShipping(
    v: VaultRef,
    name: string,
    body: { carrier: string; trackingNumber: string; returnAddress: string },
  ): Promise<Resource>;
  listRecoveryPoints(v: VaultRef, item: string): Promise<Resource[]>;
}
