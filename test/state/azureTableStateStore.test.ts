// The conformance suite against Azurite, plus the Azure adapter's own error translation.
import { startAzurite, type AzuriteInstance } from '../../host/src/azurite/azuriteProcess';
import { loadConfig } from '../../shared/config/config';
import { azureTableStateStore, translateTableError } from '../../shared/state/azureTableStateStore';
import { STATE_ERROR } from '../../shared/state/stateStore';
import { describeStateStoreConformance } from './stateStoreConformance';

let azurite: AzuriteInstance | undefined;

beforeAll(async () => {
  azurite = await startAzurite();
}, 60_000);

afterAll(async () => {
  await azurite?.stop();
});

describeStateStoreConformance('azureTableStateStore on Azurite', () => {
  if (!azurite) throw new Error('Azurite did not start');
  return Promise.resolve(
    azureTableStateStore(loadConfig({ AzureWebJobsStorage: azurite.connectionString }).storage),
  );
});

describe('translateTableError', () => {
  const rest = (statusCode: number | undefined, code?: string) =>
    Object.assign(new Error('sdk message with data'), { name: 'RestError', statusCode, code });

  it.each([
    [404, 'ResourceNotFound', STATE_ERROR.NOT_FOUND],
    [409, 'EntityAlreadyExists', STATE_ERROR.ALREADY_EXISTS],
    [412, 'UpdateConditionNotSatisfied', STATE_ERROR.PRECONDITION_FAILED],
    [503, 'ServerBusy', STATE_ERROR.TRANSIENT],
    [429, undefined, STATE_ERROR.TRANSIENT],
    [undefined, 'ECONNRESET', STATE_ERROR.TRANSIENT],
    [400, 'InvalidInput', STATE_ERROR.FAILED],
  ])('maps HTTP %s %s to %s, naming the operation and not the SDK message', (status, code, expected) => {
    const err = translateTableError(rest(status, code), 'get Vaults');
    expect(err.code).toBe(expected);
    expect(err.message).toMatch(/^get Vaults: /);
    expect(err.message).not.toContain('sdk message');
  });
});
