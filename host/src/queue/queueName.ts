// Queue names: the binding's name is lower-cased, as the Functions host does, then checked against
// Azure's naming rules so a bad name fails at startup instead of at the first poll.
import { QueueError } from './queueErrors';

export const POISON_QUEUE_SUFFIX = '-poison';
/** Azure: queue names are 3-63 characters, lower-case letters, digits and single dashes. */
const QUEUE_NAME_RE = /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/;

export function normalizeQueueName(name: string): string {
  const lower = name.trim().toLowerCase();
  if (!QUEUE_NAME_RE.test(lower)) {
    throw new QueueError(
      'QUEUE.NAME_INVALID',
      `"${name}" is not a valid queue name (3-63 characters: letters, digits and single dashes, starting and ending with a letter or digit)`,
    );
  }
  return lower;
}

export function poisonQueueName(queueName: string): string {
  return normalizeQueueName(queueName + POISON_QUEUE_SUFFIX);
}
