// Verifies `Authorization: Bearer <JWT>` with jose, pinning issuer, audience and algorithm (RS256 only:
// never `none`, never HS* — an HS256 token "signed" with our public key must fail; reliability test 14).
// Production trusts Entra ID's JWKS (createRemoteJWKSet, keys cached and refreshed by jose); locally the
// key pair in STRONGBOX_LOCAL_AUTH_DIR.
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { ApiError } from '../controlPlane/apiErrors';

/** The only algorithm accepted. Entra ID signs access tokens with RS256. */
export const ACCEPTED_ALGORITHMS = ['RS256'];
/** Clock skew allowed on exp/nbf (reliability test 14: "exp past the 60 s skew"). */
export const CLOCK_SKEW_SECONDS = 60;
/** Longer than any real header; stops a huge header from reaching the JWT parser. */
const MAX_TOKEN_CHARS = 16_384;

export interface Principal {
  /** Entra ID object id (`oid`), else `sub`. Role assignments name this id. */
  readonly id: string;
  readonly tenantId?: string;
}

export interface TokenVerifier {
  /** Resolves the caller, or throws ApiError AuthenticationFailed (401). */
  verify(authorizationHeader: string | null | undefined): Promise<Principal>;
}

export interface TokenVerifierOptions {
  readonly issuer: string;
  readonly audience: string;
  /** Test hook: the time to check exp/nbf against. */
  readonly currentDate?: () => Date;
}

function fail(message: string, cause?: unknown): ApiError {
  return new ApiError('AuthenticationFailed', message, 'Authorization', [], { cause });
}

/** Why a token failed, in words a client can act on, without echoing any of the token. */
function reasonOf(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'The access token has expired.';
  if (err instanceof errors.JWTClaimValidationFailed) {
    return `The access token's "${err.claim}" claim is not accepted.`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return 'The access token must be signed with RS256.';
  if (err instanceof errors.JWKSNoMatchingKey) return 'The access token was signed with an unknown key.';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'The access token signature is invalid.';
  return 'The access token is invalid.';
}

export function joseTokenVerifier(keys: JWTVerifyGetKey, options: TokenVerifierOptions): TokenVerifier {
  return {
    async verify(header) {
      if (!header)
        throw fail('The request has no Authorization header; send "Authorization: Bearer <token>".');
      const match = /^Bearer ([A-Za-z0-9\-_.]+)$/.exec(header.trim());
      if (!match?.[1] || match[1].length > MAX_TOKEN_CHARS) {
        throw fail('The Authorization header must be "Bearer <token>".');
      }
      try {
        const { payload } = await jwtVerify(match[1], keys, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms: ACCEPTED_ALGORITHMS,
          clockTolerance: CLOCK_SKEW_SECONDS,
          // A token without exp would be valid forever.
          requiredClaims: ['exp'],
          ...(options.currentDate ? { currentDate: options.currentDate() } : {}),
        });
        const id = typeof payload.oid === 'string' ? payload.oid : payload.sub;
        if (typeof id !== 'string' || id.length === 0)
          throw fail('The access token names no principal (oid or sub).');
        return typeof payload.tid === 'string' ? { id, tenantId: payload.tid } : { id };
      } catch (err) {
        if (err instanceof ApiError) throw err;
        throw fail(reasonOf(err), err);
      }
    },
  };
}

/** Production: Entra ID (or any OIDC issuer) signing keys from its JWKS endpoint. */
export function remoteJwksTokenVerifier(jwksUri: string, options: TokenVerifierOptions): TokenVerifier {
  return joseTokenVerifier(createRemoteJWKSet(new URL(jwksUri)), options);
}

/** Local: trusts exactly the given public keys. */
export function localTokenVerifier(
  publicJwks: readonly import('jose').JWK[],
  options: TokenVerifierOptions,
): TokenVerifier {
  return joseTokenVerifier(createLocalJWKSet({ keys: [...publicJwks] }), options);
}
