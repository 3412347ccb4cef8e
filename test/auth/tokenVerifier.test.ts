import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SignJWT, UnsecuredJWT, generateKeyPair } from 'jose';
import {
  loadOrCreateLocalSigningKey,
  mintLocalToken,
  type LocalSigningKey,
} from '../../shared/auth/localSigningKey';
import { localTokenVerifier } from '../../shared/auth/tokenVerifier';
import { hasErrorCode } from '../../shared/errors';

const ISS = 'strongbox-local';
const AUD = 'api://strongbox-local';
let dir: string;
let key: LocalSigningKey;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-tv-'));
  key = await loadOrCreateLocalSigningKey(dir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const verifier = () => localTokenVerifier([key.publicJwk], { issuer: ISS, audience: AUD });

async function rejects(header: string | undefined, message: RegExp): Promise<void> {
  let err: unknown;
  try {
    await verifier().verify(header);
  } catch (e) {
    err = e;
  }
  expect(hasErrorCode(err, 'AuthenticationFailed')).toBe(true);
  expect((err as Error).message).toMatch(message);
}

const signed = (claims: Record<string, unknown>, alg = 'RS256') =>
  new SignJWT(claims).setProtectedHeader({ alg, kid: key.kid }).setIssuer(ISS).setAudience(AUD).setIssuedAt();

describe('token verification', () => {
  it('accepts a local token and names the principal from oid', async () => {
    const token = await mintLocalToken(key, { principalId: 'alice', issuer: ISS, audience: AUD });
    await expect(verifier().verify(`Bearer ${token}`)).resolves.toEqual({ id: 'alice' });
  });

  it('rejects a missing or malformed header', async () => {
    await rejects(undefined, /no Authorization header/);
    await rejects('Token abc', /must be "Bearer <token>"/);
  });

  it('rejects wrong audience and issuer', async () => {
    await rejects(
      `Bearer ${await mintLocalToken(key, { principalId: 'a', issuer: ISS, audience: 'other' })}`,
      /"aud" claim/,
    );
    await rejects(
      `Bearer ${await mintLocalToken(key, { principalId: 'a', issuer: 'other', audience: AUD })}`,
      /"iss" claim/,
    );
  });

  it('rejects an expired token beyond the 60 s skew, and accepts one within it', async () => {
    const now = Date.now();
    const past = await mintLocalToken(key, {
      principalId: 'a',
      issuer: ISS,
      audience: AUD,
      now: new Date(now - 3600_000 - 61_000),
    });
    await rejects(`Bearer ${past}`, /expired/);
    const justExpired = await mintLocalToken(key, {
      principalId: 'a',
      issuer: ISS,
      audience: AUD,
      now: new Date(now - 3600_000 - 30_000),
    });
    await expect(verifier().verify(`Bearer ${justExpired}`)).resolves.toEqual({ id: 'a' });
  });

  it('rejects a token without exp', async () => {
    const { privateKey } = { privateKey: key.privateKey };
    await rejects(`Bearer ${await signed({ oid: 'a' }).sign(privateKey)}`, /"exp" claim/);
  });

  it('rejects alg none, HS256 with the public key as secret, and an unknown key', async () => {
    const none = new UnsecuredJWT({ oid: 'a' })
      .setIssuer(ISS)
      .setAudience(AUD)
      .setExpirationTime('1h')
      .encode();
    await rejects(`Bearer ${none}`, /invalid|RS256/);
    const hs = await signed({ oid: 'a' }, 'HS256')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(JSON.stringify(key.publicJwk)));
    await rejects(`Bearer ${hs}`, /RS256/);
    const other = await generateKeyPair('RS256');
    await rejects(
      `Bearer ${await signed({ oid: 'a' }).setExpirationTime('1h').sign(other.privateKey)}`,
      /signature|unknown key/,
    );
  });

  it('rejects a token that names no principal', async () => {
    await rejects(
      `Bearer ${await signed({}).setExpirationTime('1h').sign(key.privateKey)}`,
      /names no principal/,
    );
  });
});

describe('local signing key', () => {
  it('is created once with mode 0600, reused, and the same for concurrent first starts', async () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-key-'));
    const dirInside = path.join(d, 'auth');
    const keys = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateLocalSigningKey(dirInside)));
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
    const file = path.join(dirInside, 'signing-key.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dirInside).sort()).toEqual(['.gitignore', 'signing-key.json']);
    expect((await loadOrCreateLocalSigningKey(dirInside)).kid).toBe(keys[0]?.kid);
    fs.chmodSync(file, 0o644);
    await expect(loadOrCreateLocalSigningKey(dirInside)).rejects.toThrow(/readable by other users/);
    fs.rmSync(d, { recursive: true, force: true });
  });
});
