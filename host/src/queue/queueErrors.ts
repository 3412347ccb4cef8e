// Storage-queue errors, translated at the adapter edge so the poller never sees SDK errors.
export type QueueErrorCode =
  | 'QUEUE.NAME_INVALID'
  | 'QUEUE.CONNECTION_MISSING'
  | 'QUEUE.NOT_FOUND'
  | 'QUEUE.MESSAGE_NOT_FOUND'
  | 'QUEUE.MESSAGE_TOO_LARGE'
  | 'QUEUE.STORAGE_ERROR'
  | 'QUEUE.OUTPUT_INVALID';

export class QueueError extends Error {
  constructor(
    readonly code: QueueErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'QueueError';
  }
}
