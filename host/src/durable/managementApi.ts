// The Durable Functions HTTP API (the extension's HttpApiHandler) under /runtime/webhooks/durabletask/
// and, for the client's rpcBaseUrl mode, /durabletask/. durable-functions' DurableClient calls these, so
// status codes and payload shapes follow the real extension (shared notes §3).
import type * as http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock';
import { DurableEngine, FunctionNotFoundError, InstanceConflictError, entityInstanceId } from './engine';
import { HistoryEventType, historyEvent, type HistoryEvent } from './history';
import { isTerminal, type InstanceRecord, type RuntimeStatus } from './store';

export const WEBHOOK_PREFIX = '/runtime/webhooks/durabletask/';
export const RPC_PREFIX = '/durabletask/';

const RUNTIME_STATUSES: readonly RuntimeStatus[] = [
  'Pending',
  'Running',
  'Completed',
  'ContinuedAsNew',
  'Failed',
  'Terminated',
  'Suspended',
];
const DEFAULT_WAIT_POLL_MS = 1000;

export interface ManagementApiOptions {
  engine: DurableEngine;
  clock: Clock;
  hubName: string;
  connectionName: string;
  systemKey: string;
  /** Keys also accepted on the webhook path (the master key). */
  extraKeys?: readonly string[];
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export class ManagementApi {
  constructor(private readonly o: ManagementApiOptions) {}

  /** Management URLs for one instance, on the origin the caller used. */
  managementUrls(origin: string, instanceId: string): Record<string, string> {
    const base = `${origin}${WEBHOOK_PREFIX.slice(0, -1)}/instances/${encodeURIComponent(instanceId)}`;
    const qs = this.queryString();
    return {
      id: instanceId,
      statusQueryGetUri: `${base}?${qs}`,
      sendEventPostUri: `${base}/raiseEvent/{eventName}?${qs}`,
      terminatePostUri: `${base}/terminate?reason={text}&${qs}`,
      rewindPostUri: `${base}/rewind?reason={text}&${qs}`,
      purgeHistoryDeleteUri: `${base}?${qs}`,
      restartPostUri: `${base}/restart?${qs}`,
      suspendPostUri: `${base}/suspend?reason={text}&${qs}`,
      resumePostUri: `${base}/resume?reason={text}&${qs}`,
    };
  }

  queryString(): string {
    return `taskHub=${encodeURIComponent(this.o.hubName)}&connection=${encodeURIComponent(this.o.connectionName)}&code=${encodeURIComponent(this.o.systemKey)}`;
  }

  async handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://local');
    const path = url.pathname;
    let rest: string;
    if (path.toLowerCase().startsWith(WEBHOOK_PREFIX)) {
      rest = path.slice(WEBHOOK_PREFIX.length);
      const key = url.searchParams.get('code') ?? headerValue(req, 'x-functions-key');
      if (!key || ![this.o.systemKey, ...(this.o.extraKeys ?? [])].includes(key)) {
        send(res, {
          status: 401,
          body: {
            error: {
              code: 'Unauthorized',
              message: 'A valid durabletask_extension system key is required (code=…)',
            },
          },
        });
        return true;
      }
    } else if (path.toLowerCase().startsWith(RPC_PREFIX)) {
      // The rpcBaseUrl channel: loopback-only in this host, like the real host's local RPC endpoint.
      rest = path.slice(RPC_PREFIX.length);
    } else {
      return false;
    }
    const origin = `http://${req.headers.host ?? '127.0.0.1'}`;
    let reply: Reply;
    try {
      reply = await this.route(
        req.method ?? 'GET',
        rest.split('/').map(decodeURIComponent),
        url.searchParams,
        body,
        origin,
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      reply = { status: 500, body: { error: { code: 'InternalError', message } } };
    }
    send(res, reply);
    return true;
  }

  private async route(
    method: string,
    seg: string[],
    q: URLSearchParams,
    body: Buffer,
    origin: string,
  ): Promise<Reply> {
    const [area, a, b, c] = seg;
    const m = method.toUpperCase();
    if (area === 'orchestrators' && a && m === 'POST') return this.start(a, b, q, body, origin);
    if (area === 'instances') {
      if (!a) {
        if (m === 'GET') return this.list(q, origin);
        if (m === 'DELETE') return this.purgeMany(q);
      } else if (!b) {
        if (m === 'GET') return this.status(a, q, origin);
        if (m === 'DELETE') return this.purgeOne(a);
      } else if (m === 'POST') {
        if (b === 'raiseEvent' && c) return this.raiseEvent(a, c, body, q);
        if (b === 'terminate' || b === 'suspend' || b === 'resume')
          return this.control(a, b, q.get('reason') ?? '');
        if (b === 'restart') return this.restart(a, q, origin);
        if (b === 'rewind')
          return {
            status: 501,
            body: { error: { code: 'NotImplemented', message: 'rewind is not supported by the local host' } },
          };
      }
    }
    if (area === 'entities' && a) {
      if (b !== undefined && b !== '') {
        const key = b === '$' ? '' : b;
        if (m === 'GET') return this.readEntity(a, key);
        if (m === 'POST' || m === 'DELETE')
          return this.signalEntity(a, key, m === 'DELETE' ? 'delete' : (q.get('op') ?? ''), body);
      }
      if (m === 'GET') return this.listEntities(a, q);
    }
    return {
      status: 404,
      body: { error: { code: 'NotFound', message: `No durable API route for ${method} ${seg.join('/')}` } },
    };
  }

  private async start(
    fn: string,
    id: string | undefined,
    q: URLSearchParams,
    body: Buffer,
    origin: string,
  ): Promise<Reply> {
    const text = body.toString('utf8').trim();
    let input: string | undefined;
    if (text.length > 0) {
      try {
        JSON.parse(text);
      } catch {
        return badRequest('The request body must be JSON (the orchestrator input).');
      }
      input = text;
    }
    const instanceId = id && id.length > 0 ? id : randomUUID().replace(/-/g, '');
    try {
      await this.o.engine.startNew(fn, instanceId, input);
    } catch (err) {
      if (err instanceof FunctionNotFoundError) return badRequest(err.message);
      if (err instanceof InstanceConflictError)
        return { status: 409, body: { error: { code: 'Conflict', message: err.message } } };
      throw err;
    }
    const timeoutSec = q.get('timeout');
    if (timeoutSec !== null) {
      const deadline = Date.now() + Number(timeoutSec) * 1000;
      const pollMs = q.get('pollingInterval')
        ? Number(q.get('pollingInterval')) * 1000
        : DEFAULT_WAIT_POLL_MS;
      while (Date.now() < deadline) {
        const r = await this.o.engine.getRecord(instanceId);
        if (r && isTerminal(r.runtimeStatus)) return { status: 200, body: parseJson(r.output) };
        await new Promise((res) => setTimeout(res, Math.max(50, Math.min(pollMs, deadline - Date.now()))));
      }
    }
    return this.accepted(origin, instanceId);
  }

  private accepted(origin: string, instanceId: string): Reply {
    const urls = this.managementUrls(origin, instanceId);
    return {
      status: 202,
      body: urls,
      headers: { Location: urls.statusQueryGetUri ?? '', 'Retry-After': '10' },
    };
  }

  private async status(instanceId: string, q: URLSearchParams, origin: string): Promise<Reply> {
    const r = await this.o.engine.getRecord(instanceId);
    if (!r || r.isEntity) return notFound(instanceId);
    const payload = this.statusPayload(r, q.get('showInput') !== 'false');
    if (q.get('showHistory') === 'true') {
      const history = await this.o.engine.getHistory(instanceId);
      payload.historyEvents = summarizeHistory(history, q.get('showHistoryOutput') === 'true');
      // The extension's payload names it historyEvents; durable-functions' status object reads `history`.
      payload.history = payload.historyEvents;
    }
    if (r.runtimeStatus === 'Failed' && q.get('returnInternalServerErrorOnFailure') === 'true') {
      return { status: 500, body: payload };
    }
    if (isTerminal(r.runtimeStatus)) return { status: 200, body: payload };
    return {
      status: 202,
      body: payload,
      headers: {
        Location: this.managementUrls(origin, instanceId).statusQueryGetUri ?? '',
        'Retry-After': '5',
      },
    };
  }

  statusPayload(r: InstanceRecord, showInput: boolean): Record<string, unknown> {
    return {
      name: r.name,
      instanceId: r.instanceId,
      runtimeStatus: r.runtimeStatus,
      // The JS client's DurableOrchestrationStatus rejects payloads without input and output keys.
      input: showInput ? parseJson(r.input) : null,
      customStatus: parseJson(r.customStatus),
      output: parseJson(r.output),
      createdTime: isoSeconds(r.createdTime),
      lastUpdatedTime: isoSeconds(r.lastUpdatedTime),
    };
  }

  private async list(q: URLSearchParams, _origin: string): Promise<Reply> {
    const statuses = q
      .get('runtimeStatus')
      ?.split(',')
      .filter((s) => s.length > 0);
    for (const s of statuses ?? []) {
      if (!RUNTIME_STATUSES.includes(s as RuntimeStatus)) return badRequest(`Unknown runtimeStatus '${s}'`);
    }
    const top = q.get('top');
    const page = await this.o.engine.store.queryInstances({
      ...(q.get('createdTimeFrom')
        ? { createdTimeFrom: new Date(String(q.get('createdTimeFrom'))).toISOString() }
        : {}),
      ...(q.get('createdTimeTo')
        ? { createdTimeTo: new Date(String(q.get('createdTimeTo'))).toISOString() }
        : {}),
      ...(statuses ? { runtimeStatus: statuses as RuntimeStatus[] } : {}),
      ...(q.get('instanceIdPrefix') ? { instanceIdPrefix: String(q.get('instanceIdPrefix')) } : {}),
      ...(top ? { top: Number(top) } : {}),
      ...(q.get('continuationToken') ? { continuationToken: String(q.get('continuationToken')) } : {}),
    });
    const showInput = q.get('showInput') === 'true';
    return {
      status: 200,
      body: page.records.map((r) => this.statusPayload(r, showInput)),
      headers: page.continuationToken ? { 'x-ms-continuation-token': page.continuationToken } : {},
    };
  }

  private async purgeOne(instanceId: string): Promise<Reply> {
    const purged = await this.o.engine.purge(instanceId);
    if (!purged)
      return {
        status: 404,
        body: { error: { code: 'NotFound', message: `No finished instance with ID '${instanceId}'` } },
      };
    return { status: 200, body: { instancesDeleted: 1 } };
  }

  private async purgeMany(q: URLSearchParams): Promise<Reply> {
    const from = q.get('createdTimeFrom');
    if (!from) return badRequest('createdTimeFrom is required');
    const statuses = q
      .get('runtimeStatus')
      ?.split(',')
      .filter((s) => s.length > 0) as RuntimeStatus[] | undefined;
    let deleted = 0;
    let token: string | undefined;
    do {
      const page = await this.o.engine.store.queryInstances({
        createdTimeFrom: new Date(from).toISOString(),
        ...(q.get('createdTimeTo')
          ? { createdTimeTo: new Date(String(q.get('createdTimeTo'))).toISOString() }
          : {}),
        ...(statuses ? { runtimeStatus: statuses } : {}),
        top: 100,
        ...(token ? { continuationToken: token } : {}),
      });
      for (const r of page.records) if (await this.o.engine.purge(r.instanceId)) deleted++;
      token = page.continuationToken;
    } while (token);
    if (deleted === 0) return { status: 404, body: { instancesDeleted: 0 } };
    return { status: 200, body: { instancesDeleted: deleted } };
  }

  private async raiseEvent(
    instanceId: string,
    name: string,
    body: Buffer,
    _q: URLSearchParams,
  ): Promise<Reply> {
    const text = body.toString('utf8');
    if (text.trim().length > 0) {
      try {
        JSON.parse(text);
      } catch {
        return badRequest('The event data must be JSON.');
      }
    }
    const r = await this.o.engine.getRecord(instanceId);
    if (!r || r.isEntity) return notFound(instanceId);
    if (isTerminal(r.runtimeStatus)) return gone(instanceId, r.runtimeStatus);
    const id = this.o.engine.newMessageId();
    await this.o.engine.send(instanceId, {
      id,
      kind: 'event',
      event: historyEvent(HistoryEventType.EventRaised, this.o.clock.now(), {
        Name: name,
        Input: text.trim().length > 0 ? text : undefined,
        MessageId: id,
      }),
    });
    return { status: 202 };
  }

  private async control(
    instanceId: string,
    kind: 'terminate' | 'suspend' | 'resume',
    reason: string,
  ): Promise<Reply> {
    const r = await this.o.engine.getRecord(instanceId);
    if (!r || r.isEntity) return notFound(instanceId);
    if (isTerminal(r.runtimeStatus)) return gone(instanceId, r.runtimeStatus);
    await this.o.engine.send(instanceId, { id: this.o.engine.newMessageId(), kind, reason });
    return { status: 202 };
  }

  private async restart(instanceId: string, q: URLSearchParams, origin: string): Promise<Reply> {
    const r = await this.o.engine.getRecord(instanceId);
    if (!r || r.isEntity) return notFound(instanceId);
    const newId = q.get('restartWithNewInstanceId') === 'false' ? instanceId : randomUUID().replace(/-/g, '');
    try {
      await this.o.engine.startNew(r.name, newId, r.input);
    } catch (err) {
      if (err instanceof InstanceConflictError)
        return { status: 409, body: { error: { code: 'Conflict', message: err.message } } };
      throw err;
    }
    return this.accepted(origin, newId);
  }

  private async readEntity(name: string, key: string): Promise<Reply> {
    const r = await this.o.engine.getRecord(entityInstanceId(name, key));
    if (!r || !r.entityExists)
      return {
        status: 404,
        body: { error: { code: 'NotFound', message: `Entity @${name}@${key} not found` } },
      };
    return { status: 200, body: parseJson(r.entityState) };
  }

  private async signalEntity(name: string, key: string, op: string, body: Buffer): Promise<Reply> {
    if (!op) return badRequest('The "op" query parameter is required');
    const text = body.toString('utf8');
    if (text.trim().length > 0) {
      try {
        JSON.parse(text);
      } catch {
        return badRequest('The operation input must be JSON.');
      }
    }
    await this.o.engine.send(entityInstanceId(name, key), {
      id: this.o.engine.newMessageId(),
      kind: 'entityOp',
      operation: op,
      input: text.trim().length > 0 ? text : undefined,
      signal: true,
      parentInstanceId: undefined,
    });
    return { status: 202 };
  }

  private async listEntities(name: string, q: URLSearchParams): Promise<Reply> {
    const page = await this.o.engine.store.queryEntities(
      `@${name.toLowerCase()}@`,
      q.get('continuationToken') ?? undefined,
    );
    return {
      status: 200,
      body: page.records
        .filter((r) => r.entityExists)
        .map((r) => ({
          entityId: { name: name.toLowerCase(), key: r.instanceId.slice(name.length + 2) },
          lastOperationTime: isoSeconds(r.lastUpdatedTime),
          ...(q.get('fetchState') === 'true' ? { state: parseJson(r.entityState) } : {}),
        })),
      headers: page.continuationToken ? { 'x-ms-continuation-token': page.continuationToken } : {},
    };
  }
}

function headerValue(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function notFound(instanceId: string): Reply {
  return {
    status: 404,
    body: { error: { code: 'NotFound', message: `No instance with ID '${instanceId}'` } },
  };
}

/** 410: the instance has finished; the JS client treats this as success for raise/terminate. */
function gone(instanceId: string, status: RuntimeStatus): Reply {
  return { status: 410, body: { error: { code: 'Gone', message: `Instance '${instanceId}' is ${status}` } } };
}

function badRequest(message: string): Reply {
  return { status: 400, body: { error: { code: 'BadRequest', message } } };
}

function send(res: http.ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  let payload: string | undefined;
  if (reply.body !== undefined) {
    payload = JSON.stringify(reply.body);
    headers['Content-Type'] = 'application/json; charset=utf-8';
  }
  res.writeHead(reply.status, headers);
  res.end(payload);
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The extension formats times as yyyy-MM-ddTHH:mm:ssZ. */
function isoSeconds(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z');
}

/** The simplified history the extension returns with showHistory=true. */
function summarizeHistory(history: HistoryEvent[], showOutput: boolean): Record<string, unknown>[] {
  const scheduled = new Map<number, HistoryEvent>();
  const out: Record<string, unknown>[] = [];
  for (const e of history) {
    const type = HistoryEventType[e.EventType];
    switch (e.EventType) {
      case HistoryEventType.TaskScheduled:
      case HistoryEventType.SubOrchestrationInstanceCreated:
      case HistoryEventType.TimerCreated:
        scheduled.set(e.EventId, e);
        if (e.EventType === HistoryEventType.TimerCreated)
          out.push({ EventType: type, FireAt: e.FireAt, Timestamp: e.Timestamp });
        break;
      case HistoryEventType.OrchestratorStarted:
      case HistoryEventType.OrchestratorCompleted:
        break;
      case HistoryEventType.TaskCompleted:
      case HistoryEventType.TaskFailed:
      case HistoryEventType.SubOrchestrationInstanceCompleted:
      case HistoryEventType.SubOrchestrationInstanceFailed: {
        const s = scheduled.get(Number(e.TaskScheduledId));
        out.push({
          EventType: type,
          FunctionName: s?.Name,
          ScheduledTime: s?.Timestamp,
          Timestamp: e.Timestamp,
          ...(showOutput && typeof e.Result === 'string' ? { Result: parseJson(e.Result) } : {}),
          ...(e.Reason !== undefined ? { Reason: e.Reason } : {}),
        });
        break;
      }
      case HistoryEventType.ExecutionStarted:
        out.push({ EventType: type, FunctionName: e.Name, Timestamp: e.Timestamp });
        break;
      case HistoryEventType.ExecutionCompleted:
        out.push({
          EventType: type,
          OrchestrationStatus: e.OrchestrationStatus,
          Timestamp: e.Timestamp,
          ...(showOutput && typeof e.Result === 'string' ? { Result: parseJson(e.Result) } : {}),
        });
        break;
      default:
        out.push({
          EventType: type,
          Timestamp: e.Timestamp,
          ...(e.Name !== undefined ? { Name: e.Name } : {}),
        });
    }
  }
  return out;
}
