// ServiceClient adapter that talks to the local ImportService emulator directly (no HTTP yet).
import type { ImportService } from '../../shared/offline/importService';
import type { ServiceClient } from './serviceClient';

export function localServiceClient(
  service: ImportService,
  now: () => Date = () => new Date(),
): ServiceClient {
  return {
    createImportJob: (req) => service.createJob(req, now()),
    updateShipping: (jobName, shipping) => service.updateShipping(jobName, shipping, now()),
    getImportJob: (jobName) => service.getJob(jobName),
  };
}
