// The DataAccess port: short-lived, narrowly scoped credentials the service hands to a registered
// helper, so the helper writes its client-side-encrypted vault straight into its own container and
// drops events on the service's queue, without ever holding the storage account's key.
// Adapter: azureDataAccess (account-key SAS locally and with connection strings; user-delegation SAS
// with a managed identity). The blob SAS may read, add, create, write and list, never delete: a
// helper cannot destroy what it backed up (prune is the service's job).

export interface ContainerAccess {
  /** Container URL with a SAS query. A secret: never log it. */
  readonly containerUrl: string;
  readonly expiresTime: string;
}

export interface QueueAccess {
  /** Queue URL with an add-only SAS query. A secret: never log it. */
  readonly queueUrl: string;
  readonly expiresTime: string;
}

export interface DataAccess {
  /** Creates the container if missing (the helper's SAS cannot create containers). */
  ensureContainer(container: string): Promise<void>;
  containerSas(container: string, now: Date, validityMs: number): Promise<ContainerAccess>;
  /** undefined when queue SAS is impossible (managed identity: queues have no user-delegation SAS). */
  queueSas(queue: string, now: Date, validityMs: number): Promise<QueueAccess | undefined>;
}
