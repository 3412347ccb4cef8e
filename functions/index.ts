// The app's single entry point (package.json "main"): loads the configuration once and registers every
// function through the v4 programming model.
import { app } from '@azure/functions';
import { loadConfig } from '../shared/config/config';
import { createAzureStorageProbe } from '../shared/health/azureStorageProbe';
import { createHealthHandler } from './health.http';

// Fail fast: an invalid setting stops the app at load with a message naming it, instead of failing
// later inside a request.
const config = loadConfig();

app.http('health', {
  methods: ['GET'],
  route: 'health',
  authLevel: 'anonymous',
  handler: createHealthHandler(createAzureStorageProbe(config.storage)),
});
