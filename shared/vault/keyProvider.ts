// The KeyProvider port: wraps and unwraps a vault's master data key under a key-encryption key
// (KEK) that never leaves the provider. Adapters: localKeyFileProvider (a KEK file),
// passphraseKeyProvider (scrypt), and keyVaultKeyProvider (Azure Key Vault wrapKey/unwrapKey with an
// RSA key), which needed nothing more from this interface.

/** What a wrapped key is bound to: unwrapping under another vault's id fails authentication. */
export interface WrapContext {
  /** The vault's id (32 hex characters). */
  vaultId: string;
}

export interface WrappedKey {
  /** Lower-case hex; the vault stores `wrapped` at `keys/<keyId>` and names keyId in its config. */
  keyId: string;
  /** Opaque to the vault: the provider's own envelope (algorithm, parameters, ciphertext). */
  wrapped: Uint8Array;
}

export interface KeyProvider {
  /** Short stable name, recorded in the config (`local-key-file`, `passphrase`, `azure-key-vault`). */
  readonly name: string;
  wrap(dataKey: Buffer, ctx: WrapContext): Promise<WrappedKey>;
  /** Throws KEY.UNWRAP_FAILED on a wrong KEK or tampering, KEY.INVALID_WRAPPED_KEY if malformed. */
  unwrap(key: WrappedKey, ctx: WrapContext): Promise<Buffer>;
}
