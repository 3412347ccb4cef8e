// The ServiceClient port: what the on-prem helper asks of the Strongbox service for offline seeding.
// Adapters: localServiceClient (calls the local ImportService emulator in-process). The HTTP adapter
// over the control-plane API comes when that API has import-job routes; it implements this interface.
import type { CreateImportJobRequest, ImportJob, ShippingDetails } from '../../shared/offline/importService';

export interface ServiceClient {
  createImportJob(req: CreateImportJobRequest): Promise<ImportJob>;
  updateShipping(jobName: string, shipping: ShippingDetails): Promise<ImportJob>;
  getImportJob(jobName: string): Promise<ImportJob>;
}
