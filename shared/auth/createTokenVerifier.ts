// Chooses the token verifier from the configuration: Entra ID's JWKS when configured (always in Azure),
// else the local key pair, loaded (or created) once on first use.
import * as path from 'node:path';
import type { StrongboxConfig } from '../config/config';
import { loadOrCreateLocalSigningKey, type LocalSigningKey } from './localSigningKey';
import { localTokenVerifier, remoteJwksTokenVerifier, type TokenVerifier } from './tokenVerifier';

/** @param appRoot where a relative STRONGBOX_LOCAL_AUTH_DIR is resolved (the Functions app folder). */
export function createTokenVerifier(
  config: StrongboxConfig,
  appRoot: string,
): TokenVerifier & { ready(): Promise<void> } {
  const v = config.tokenValidation;
  if (v.kind === 'jwks') {
    const verifier = remoteJwksTokenVerifier(v.jwksUri, { issuer: v.issuer, audience: v.audience });
    return { verify: (h) => verifier.verify(h), ready: () => Promise.resolve() };
  }
  let key: Promise<LocalSigningKey> | undefined;
  const load = () => {
    key ??= loadOrCreateLocalSigningKey(path.resolve(appRoot, v.dir)).catch((err: unknown) => {
      key = undefined;
      throw err;
    });
    return key;
  };
  return {
    async verify(header) {
      const k = await load();
      return localTokenVerifier([k.publicJwk], { issuer: v.issuer, audience: v.audience }).verify(header);
    },
    async ready() {
      await load();
    },
  };
}
