// Sub-keys derived from the master data key with HKDF-SHA256 (RFC 5869): one for block ids, one for
// encryption, so neither use can leak the other. Salt = the vault id, so equal master keys (which
// never happen, but cost nothing to guard) still give distinct sub-keys per vault.
import { createHmac, hkdfSync } from 'node:crypto';
import { inspect } from 'node:util';
import { DATA_KEY_BYTES, HKDF_INFO } from './formatIds';

export class VaultKeys {
  #idKey: Buffer;
  #encKey: Buffer;

  constructor(masterKey: Buffer, vaultIdBytes: Buffer) {
    this.#idKey = Buffer.from(
      hkdfSync('sha256', masterKey, vaultIdBytes, HKDF_INFO.BLOCK_ID, DATA_KEY_BYTES),
    );
    this.#encKey = Buffer.from(
      hkdfSync('sha256', masterKey, vaultIdBytes, HKDF_INFO.ENCRYPTION, DATA_KEY_BYTES),
    );
  }

  /** The sub-keys, copied, for a worker thread of this process (blockWorkerPool.ts). Never persist them. */
  subKeysForWorker(): { idKey: Uint8Array; encKey: Uint8Array } {
    return { idKey: new Uint8Array(this.#idKey), encKey: new Uint8Array(this.#encKey) };
  }

  /** Rebuilds the keys inside a worker thread from `subKeysForWorker()`. */
  static fromSubKeys(sub: { idKey: Uint8Array; encKey: Uint8Array }): VaultKeys {
    const keys = new VaultKeys(Buffer.alloc(DATA_KEY_BYTES), Buffer.alloc(16));
    keys.#idKey = Buffer.from(sub.idKey);
    keys.#encKey = Buffer.from(sub.encKey);
    return keys;
  }

  /** Block id = HMAC-SHA256(idKey, plaintext): dedups within the vault, reveals nothing outside it. */
  blockIdOf(plaintext: Uint8Array): Buffer {
    return createHmac('sha256', this.#idKey).update(plaintext).digest();
  }

  /**
   * A stable, opaque name for `text` under `purpose` (HMAC-SHA256 with the id key, domain-separated,
   * first `bytes` bytes as hex): the same in every process that opens the vault, meaningless outside it.
   */
  nameFor(purpose: string, text: string, bytes = 16): string {
    return createHmac('sha256', this.#idKey)
      .update(`strongbox/v1/name/${purpose}\0${text}`, 'utf8')
      .digest()
      .subarray(0, bytes)
      .toString('hex');
  }

  /** The AES-256-GCM key for blocks and sealed blobs. Never log or persist it. */
  get encryptionKey(): Buffer {
    return this.#encKey;
  }

  // Keys must never reach a log line or a JSON body by accident.
  toJSON(): string {
    return '[VaultKeys redacted]';
  }

  [inspect.custom](): string {
    return '[VaultKeys redacted]';
  }
}
