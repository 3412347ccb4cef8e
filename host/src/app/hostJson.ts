// host.json, validated: the settings this host honours, with the real host's defaults.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { parseTimeSpanMs } from './timeSpan';

/** Real host defaults (Functions docs: host.json reference, storage queue and durable sections). */
export const DEFAULT_ROUTE_PREFIX = 'api';
export const DEFAULT_FUNCTION_TIMEOUT_MS = 30 * 60_000;
export const DEFAULT_MAX_DEQUEUE_COUNT = 5;
export const DEFAULT_QUEUE_BATCH_SIZE = 16;
export const DEFAULT_QUEUE_MAX_POLLING_MS = 60_000;
export const DEFAULT_QUEUE_VISIBILITY_TIMEOUT_MS = 0;
export const DEFAULT_HUB_NAME = 'TestHubName';

const timeSpan = z.string().refine((s) => {
  try {
    parseTimeSpanMs(s);
    return true;
  } catch {
    return false;
  }
}, 'must be a TimeSpan such as "00:05:00"');

const hostJsonSchema = z
  .object({
    version: z.literal('2.0', { message: 'host.json "version" must be "2.0"' }),
    functionTimeout: timeSpan.optional(),
    extensions: z
      .object({
        http: z.object({ routePrefix: z.string().optional() }).loose().optional(),
        queues: z
          .object({
            maxPollingInterval: timeSpan.optional(),
            visibilityTimeout: timeSpan.optional(),
            batchSize: z.number().int().min(1).max(32).optional(),
            newBatchThreshold: z.number().int().min(0).optional(),
            maxDequeueCount: z.number().int().min(1).optional(),
            messageEncoding: z.enum(['base64', 'none']).optional(),
          })
          .loose()
          .optional(),
        durableTask: z
          .object({
            hubName: z.string().optional(),
            storageProvider: z.object({ connectionStringName: z.string().optional() }).loose().optional(),
          })
          .loose()
          .optional(),
      })
      .loose()
      .optional(),
  })
  .loose();

export interface HostSettings {
  functionTimeoutMs: number;
  routePrefix: string;
  queues: {
    maxPollingIntervalMs: number;
    visibilityTimeoutMs: number;
    batchSize: number;
    newBatchThreshold: number;
    maxDequeueCount: number;
    messageEncoding: 'base64' | 'none';
  };
  durable: { hubName: string; connectionName: string };
}

export function parseHostJson(raw: unknown): HostSettings {
  const parsed = hostJsonSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `host.json: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`,
    );
  }
  const h = parsed.data;
  const q = h.extensions?.queues ?? {};
  const batchSize = q.batchSize ?? DEFAULT_QUEUE_BATCH_SIZE;
  return {
    functionTimeoutMs: h.functionTimeout ? parseTimeSpanMs(h.functionTimeout) : DEFAULT_FUNCTION_TIMEOUT_MS,
    routePrefix: (h.extensions?.http?.routePrefix ?? DEFAULT_ROUTE_PREFIX).replace(/^\/+|\/+$/g, ''),
    queues: {
      maxPollingIntervalMs: q.maxPollingInterval
        ? parseTimeSpanMs(q.maxPollingInterval)
        : DEFAULT_QUEUE_MAX_POLLING_MS,
      visibilityTimeoutMs: q.visibilityTimeout
        ? parseTimeSpanMs(q.visibilityTimeout)
        : DEFAULT_QUEUE_VISIBILITY_TIMEOUT_MS,
      batchSize,
      newBatchThreshold: q.newBatchThreshold ?? Math.floor(batchSize / 2),
      maxDequeueCount: q.maxDequeueCount ?? DEFAULT_MAX_DEQUEUE_COUNT,
      messageEncoding: q.messageEncoding ?? 'base64',
    },
    durable: {
      hubName: h.extensions?.durableTask?.hubName ?? DEFAULT_HUB_NAME,
      connectionName:
        h.extensions?.durableTask?.storageProvider?.connectionStringName ?? 'AzureWebJobsStorage',
    },
  };
}

export function readHostJson(appDir: string): HostSettings {
  const file = path.join(appDir, 'host.json');
  if (!fs.existsSync(file)) throw new Error(`No host.json in ${appDir}: not a Functions app folder`);
  return parseHostJson(JSON.parse(fs.readFileSync(file, 'utf8')));
}
