// Adapter: schedule status blobs at the real host's path, container `azure-webjobs-hosts`,
// blob `timers/<hostId>/<FunctionName>/status`.
import { BlobServiceClient, RestError, type ContainerClient } from '@azure/storage-blob';
import {
  scheduleStatusFromJson,
  scheduleStatusToJson,
  type ScheduleMonitor,
  type ScheduleStatus,
} from './scheduleMonitor';

export const HOSTS_CONTAINER = 'azure-webjobs-hosts';

export class AzureBlobScheduleMonitor implements ScheduleMonitor {
  readonly location: string;
  private readonly container: ContainerClient;
  private containerReady: Promise<unknown> | undefined;

  constructor(
    connectionString: string,
    private readonly hostId: string,
  ) {
    this.container =
      BlobServiceClient.fromConnectionString(connectionString).getContainerClient(HOSTS_CONTAINER);
    this.location = `blob ${HOSTS_CONTAINER}/timers/${hostId}/<function>/status`;
  }

  private blobName(functionName: string): string {
    return `timers/${this.hostId}/${functionName}/status`;
  }

  async getStatus(functionName: string): Promise<ScheduleStatus | undefined> {
    try {
      const buf = await this.container.getBlockBlobClient(this.blobName(functionName)).downloadToBuffer();
      return scheduleStatusFromJson(buf.toString('utf8'));
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  async updateStatus(functionName: string, status: ScheduleStatus): Promise<void> {
    // Create the container once; forget a failed attempt so the next update tries again.
    this.containerReady ??= this.container.createIfNotExists().catch((err: unknown) => {
      this.containerReady = undefined;
      throw err;
    });
    await this.containerReady;
    const body = JSON.stringify(scheduleStatusToJson(status));
    await this.container
      .getBlockBlobClient(this.blobName(functionName))
      .upload(body, Buffer.byteLength(body), {
        blobHTTPHeaders: { blobContentType: 'application/json' },
      });
  }
}
