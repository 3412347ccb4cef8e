// The tracking-number rule both ImportService adapters enforce: no two import jobs may share a tracking
// number (one package, one job). Azure's Import/Export service does not enforce it, so Strongbox does,
// with one conditional insert into the `<prefix>importtracking` table: a row per number, keyed by the
// normalised number, naming the job that owns it. Azure Tables refuses a second row with the same key
// (409), which makes the rule hold under any concurrency; the owner may insert again (a retry).
import type { TableClient } from '@azure/data-tables';
import { OFFLINE_ERROR_CODES, OfflineError } from './offlineErrors';

/** 4–64 letters, digits or dashes, after normalizeTrackingNumber. */
export const TRACKING_PATTERN = /^[A-Z0-9-]{4,64}$/;
/** Every tracking row is in this partition; the row key is the number. */
export const TRACKING_PARTITION = 'tracking';

/** The two calls the rule needs (a @azure/data-tables TableClient satisfies it). */
export type TrackingTable = Pick<TableClient, 'createEntity' | 'getEntity'>;

/** Carriers print numbers with spaces and mixed case; one number must map to one row key. */
export function normalizeTrackingNumber(raw: string): string {
  return raw.replace(/[\s]/g, '').toUpperCase();
}

function statusOf(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null ? (err as { statusCode?: number }).statusCode : undefined;
}

/**
 * Reserves `number` (normalised) for `jobName`. OFFLINE.TRACKING_NUMBER_IN_USE if another job holds it;
 * any other storage failure goes through `failed(what, err)`, the adapter's own translation.
 */
export async function reserveTrackingNumber(
  table: TrackingTable,
  number: string,
  jobName: string,
  failed: (what: string, err: unknown) => Error,
): Promise<void> {
  try {
    await table.createEntity({ partitionKey: TRACKING_PARTITION, rowKey: number, jobName });
    return;
  } catch (err) {
    if (statusOf(err) !== 409) throw failed('recording the tracking number', err);
  }
  let owner: unknown;
  try {
    owner = (await table.getEntity<{ jobName: string }>(TRACKING_PARTITION, number)).jobName;
  } catch (err) {
    throw failed('reading the tracking number', err);
  }
  if (owner !== jobName) {
    throw new OfflineError(
      OFFLINE_ERROR_CODES.TRACKING_NUMBER_IN_USE,
      `tracking number ${number} is already used by another import job; each job needs its own package`,
    );
  }
}
