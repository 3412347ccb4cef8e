// What the control-plane services need from the outside world: state, time and fresh ids. Injected, so
// tests run the services on memStateStore with a fixed clock and reproducible ids.
import { randomBytes } from 'node:crypto';
import type { StateStore } from '../state/stateStore';

export interface Clock {
  now(): Date;
}

export interface IdSource {
  /** A time-ordered UUID (version 7): ids sort by creation time, so row keys list in time order. */
  timeOrdered(now: Date): string;
  /** 32 lower-case hex characters (a vault id, as the vault format expects). */
  vaultId(): string;
}

export interface ControlPlaneDeps {
  readonly store: StateStore;
  readonly clock: Clock;
  readonly ids: IdSource;
}

export const systemClock: Clock = { now: () => new Date() };

/** RFC 9562 UUIDv7: 48-bit Unix milliseconds, version 7, 74 random bits, variant 10. */
export function uuidV7(now: Date, random: Buffer): string {
  const b = Buffer.alloc(16);
  b.writeUIntBE(now.getTime(), 0, 6);
  random.copy(b, 6, 0, 10);
  b[6] = 0x70 | ((b[6] ?? 0) & 0x0f);
  b[8] = 0x80 | ((b[8] ?? 0) & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const cryptoIds: IdSource = {
  timeOrdered: (now) => uuidV7(now, randomBytes(10)),
  vaultId: () => randomBytes(16).toString('hex'),
};
