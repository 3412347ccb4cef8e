import {
  DEFAULT_FUNCTION_KEY_NAME,
  DURABLE_SYSTEM_KEY_NAME,
  durableSystemKey,
  generateKeyValue,
  newHostSecrets,
  parseStoredHostSecrets,
  toHostKeys,
  withRequiredKeys,
} from '../../../host/src/keys/hostKeys';
import { computeHostId, MAX_HOST_ID_LENGTH } from '../../../host/src/keys/hostId';
import { loadHostKeys } from '../../../host/src/keys/loadHostKeys';
import { MemorySecretStore } from '../../../host/src/keys/secretStore';
import { thrown } from '../thrown';

describe('host keys', () => {
  test('generated keys are URL-safe and distinct', () => {
    const a = generateKeyValue();
    expect(a).toMatch(/^[A-Za-z0-9_-]{54}$/);
    expect(generateKeyValue()).not.toBe(a);
  });

  test('a new secrets file has the master, default function and durable system keys', () => {
    const s = newHostSecrets('machine');
    expect(s.masterKey.name).toBe('master');
    expect(s.functionKeys.map((k) => k.name)).toEqual([DEFAULT_FUNCTION_KEY_NAME]);
    expect(s.systemKeys.map((k) => k.name)).toEqual([DURABLE_SYSTEM_KEY_NAME]);
    const keys = toHostKeys(s);
    expect(durableSystemKey(keys)).toBe(s.systemKeys[0]?.value);
  });

  test('reads the real host file format and adds missing keys', () => {
    const real = JSON.stringify({
      masterKey: { name: 'master', value: 'M', encrypted: false },
      functionKeys: [{ name: 'default', value: 'F', encrypted: false }],
      systemKeys: [],
      hostName: 'x.azurewebsites.net',
      instanceId: 'abc',
      source: 'runtime',
      decryptionKeyId: '',
    });
    const parsed = parseStoredHostSecrets(real);
    const { secrets, changed } = withRequiredKeys(parsed);
    expect(changed).toBe(true);
    expect(secrets.systemKeys.map((k) => k.name)).toEqual([DURABLE_SYSTEM_KEY_NAME]);
    expect(withRequiredKeys(secrets).changed).toBe(false);
    expect(toHostKeys(secrets)).toMatchObject({ masterKey: 'M', functionKeys: { default: 'F' } });
  });

  test('encrypted or malformed files are refused with a code', () => {
    expect(thrown(() => parseStoredHostSecrets('{'))).toMatchObject({ code: 'KEYS.INVALID_SECRETS' });
    expect(thrown(() => parseStoredHostSecrets('{"masterKey":{"name":"master"}}'))).toMatchObject({
      code: 'KEYS.INVALID_SECRETS',
    });
    expect(
      thrown(() =>
        parseStoredHostSecrets(
          JSON.stringify({ masterKey: { name: 'master', value: 'x', encrypted: true } }),
        ),
      ),
    ).toMatchObject({ code: 'KEYS.ENCRYPTED_UNSUPPORTED' });
  });

  test('environment overrides replace keys for this process only', () => {
    const s = newHostSecrets('m');
    const keys = toHostKeys(s, { masterKey: 'override-m', defaultFunctionKey: 'override-f' });
    expect(keys.masterKey).toBe('override-m');
    expect(keys.functionKeys.default).toBe('override-f');
    expect(s.masterKey.value).not.toBe('override-m');
  });
});

describe('loadHostKeys', () => {
  test('generates once, then loads the same keys', async () => {
    const store = new MemorySecretStore();
    const first = await loadHostKeys(store, 'm');
    const second = await loadHostKeys(store, 'm');
    expect(first.generated).toBe(true);
    expect(second.generated).toBe(false);
    expect(second.keys).toEqual(first.keys);
  });

  test('a host that loses the race to create the file uses the winner’s keys', async () => {
    const store = new MemorySecretStore();
    const winner = newHostSecrets('other');
    const read = store.read.bind(store);
    let raced = false;
    // Another host writes between our read and our write.
    store.read = async () => {
      const current = await read();
      if (!raced) {
        raced = true;
        await store.write(winner, undefined);
      }
      return current;
    };
    const { keys } = await loadHostKeys(store, 'm');
    expect(keys.masterKey).toBe(winner.masterKey.value);
  });

  test('overrides do not change what is stored', async () => {
    const store = new MemorySecretStore();
    await loadHostKeys(store, 'm', { masterKey: 'env-master' });
    expect((await store.read())?.secrets.masterKey.value).not.toBe('env-master');
  });
});

describe('computeHostId', () => {
  test('machine name plus app path hash, lower-case, at most 32 characters, stable', () => {
    const id = computeHostId('My_Very.Long-Machine-Name-That-Goes-On', '/apps/one');
    expect(id).toMatch(/^[a-z0-9-]+$/);
    expect(id.length).toBeLessThanOrEqual(MAX_HOST_ID_LENGTH);
    expect(computeHostId('My_Very.Long-Machine-Name-That-Goes-On', '/apps/one')).toBe(id);
    expect(computeHostId('My_Very.Long-Machine-Name-That-Goes-On', '/apps/two')).not.toBe(id);
    expect(id.endsWith('-')).toBe(false);
  });

  test('an override wins (sanitized)', () => {
    expect(computeHostId('m', '/x', 'My-Host')).toBe('my-host');
  });
});
