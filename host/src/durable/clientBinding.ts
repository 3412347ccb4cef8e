// The `durableClient` input binding's data, shaped as the extension's BindingHelper.cs writes it.
// durable-functions only requires taskHubName, creationUrls and managementUrls; with rpcBaseUrl set it
// uses simple relative paths for everything except createCheckStatusResponse (shared notes §1.3).
import { RPC_PREFIX, WEBHOOK_PREFIX, type ManagementApi } from './managementApi';

export interface ClientBindingData {
  taskHubName: string;
  creationUrls: { createNewInstancePostUri: string; createAndWaitOnNewInstancePostUri: string };
  managementUrls: Record<string, string>;
  baseUrl: string;
  requiredQueryStringParameters: string;
  rpcBaseUrl: string;
}

export function clientBindingData(api: ManagementApi, hubName: string, origin: string): ClientBindingData {
  const webhook = `${origin}${WEBHOOK_PREFIX.slice(0, -1)}`;
  const qs = api.queryString();
  const code = qs.slice(qs.indexOf('code='));
  return {
    taskHubName: hubName,
    creationUrls: {
      createNewInstancePostUri: `${webhook}/orchestrators/{functionName}[/{instanceId}]?${code}`,
      createAndWaitOnNewInstancePostUri: `${webhook}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&${code}`,
    },
    managementUrls: api.managementUrls(origin, 'INSTANCEID'),
    baseUrl: webhook,
    requiredQueryStringParameters: code,
    rpcBaseUrl: `${origin}${RPC_PREFIX}`,
  };
}
