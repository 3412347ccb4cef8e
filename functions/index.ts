// The app's single entry point (package.json "main"): loads the configuration once and registers every
// function through the v4 programming model.
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { createTokenVerifier } from '../shared/auth/createTokenVerifier';
import { loadConfig } from '../shared/config/config';
import { createControlPlane } from '../shared/controlPlane/controlPlane';
import { cryptoIds, systemClock } from '../shared/controlPlane/controlPlanePorts';
import { createAzureStorageProbe } from '../shared/health/azureStorageProbe';
import { azureTableStateStore } from '../shared/state/azureTableStateStore';
import { createApiHandler } from './api/apiHandler';
import { API_OPERATIONS } from './api/apiRoutes';
import { createHealthHandler } from './health.http';
import { registerOfflineFunctions } from './offline/registerOfflineFunctions';
import { registerVmFunctions } from './vm/registerVmFunctions';

// Fail fast: an invalid setting stops the app at load with a message naming it, instead of failing
// later inside a request.
const config = loadConfig();

app.http('health', {
  methods: ['GET'],
  route: 'health',
  authLevel: 'anonymous',
  handler: createHealthHandler(createAzureStorageProbe(config.storage)),
});

const cp = createControlPlane({
  store: azureTableStateStore(config.storage),
  clock: systemClock,
  ids: cryptoIds,
});
// The Functions host runs the app with the app folder as its working directory (also in Azure).
const verifier = createTokenVerifier(config, process.cwd());

// Create the local signing key at start, so `npm run token` and the first request find it.
app.hook.appStart(async () => {
  await verifier.ready();
});

// authLevel anonymous: the API authenticates every request itself with a bearer token (apiHandler.ts),
// which is what Azure clients send; function keys would be a second, weaker credential.
for (const op of API_OPERATIONS) {
  app.http(op.name, {
    methods: [op.method],
    route: op.route,
    authLevel: 'anonymous',
    // Every operation gets a durable client: long operations start orchestrations and answer 202.
    extraInputs: [df.input.durableClient()],
    handler: createApiHandler(op, { cp, verifier }),
  });
}

// The workflows: orchestrations, activities, timers and queue triggers, one module per area.
registerVmFunctions({ config, cp });
registerOfflineFunctions({ config, cp });
