// DurableStore on Azure Table storage (Azurite locally), with large payloads in blobs.
// Table `<hub>Durable`: PartitionKey = instance id; RowKey `state`, `h:<seq>`, `i:<message id>`, `o:<seq>`.
import { randomUUID } from 'node:crypto';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import {
  TableClient,
  type TableEntity,
  type TableEntityResult,
  type TransactionAction,
} from '@azure/data-tables';
import type { HistoryEvent } from './history';
import {
  ConcurrencyError,
  type DurableStore,
  type EpisodeCommit,
  type HistoryRow,
  type InboxMessage,
  type InstanceQuery,
  type InstanceRecord,
  type OutboxMessage,
  type PartitionSnapshot,
  type RuntimeStatus,
} from './store';

/** Azure Tables: a string property holds at most 64 KiB of UTF-16, i.e. 32K characters. */
const MAX_INLINE_CHARS = 30_000;
/** Azure Tables: at most 100 operations in one entity group transaction. */
const MAX_TRANSACTION_OPS = 100;
const STATE_ROW = 'state';
const SEQ_DIGITS = 10;

type Row = TableEntity<Record<string, unknown>>;

export function tableNameForHub(hub: string): string {
  // Azure: table names are 3-63 alphanumeric characters starting with a letter.
  const clean = hub.replace(/[^A-Za-z0-9]/g, '');
  const name = /^[A-Za-z]/.test(clean) ? clean : `H${clean}`;
  return `${name}Durable`.slice(0, 63);
}

/** Azure Tables forbid / \ # ? and control characters in keys; escape them (and %) reversibly. */
export function escapeKey(value: string): string {
  return value.replace(
    // eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
    /[%/\\#?\u0000-\u001f\u007f-\u009f]/g,
    (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

export function unescapeKey(value: string): string {
  return value.replace(/%([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** A string property, or '' when absent (table rows are untyped). */
function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function seqKey(prefix: string, seq: number): string {
  return `${prefix}${String(seq).padStart(SEQ_DIGITS, '0')}`;
}

export class TableDurableStore implements DurableStore {
  private readonly table: TableClient;
  private readonly blobs: ContainerClient;

  constructor(connectionString: string, hubName: string) {
    this.table = TableClient.fromConnectionString(connectionString, tableNameForHub(hubName), {
      allowInsecureConnection: true,
    });
    const containerName = `${hubName.toLowerCase().replace(/[^a-z0-9-]/g, '')}-largemessages`.slice(0, 63);
    this.blobs = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(containerName);
  }

  async init(): Promise<void> {
    await this.table.createTable();
    await this.blobs.createIfNotExists();
  }

  // ---- payload packing -------------------------------------------------------------------------

  private async pack(row: Row, field: string, text: string | undefined): Promise<void> {
    if (text === undefined) return;
    if (text.length <= MAX_INLINE_CHARS) {
      row[field] = text;
      return;
    }
    const name = `${row.partitionKey}/${randomUUID()}.json`;
    await this.blobs.getBlockBlobClient(name).upload(text, Buffer.byteLength(text));
    row[`${field}Blob`] = name;
  }

  private async unpack(row: Record<string, unknown>, field: string): Promise<string | undefined> {
    const inline = row[field];
    if (typeof inline === 'string') return inline;
    const blob = row[`${field}Blob`];
    if (typeof blob !== 'string') return undefined;
    const buf = await this.blobs.getBlockBlobClient(blob).downloadToBuffer();
    return buf.toString('utf8');
  }

  // ---- rows ------------------------------------------------------------------------------------

  private async recordToRow(r: InstanceRecord): Promise<Row> {
    const row: Row = {
      partitionKey: escapeKey(r.instanceId),
      rowKey: STATE_ROW,
      Name: r.name,
      RuntimeStatus: r.runtimeStatus,
      CreatedTime: r.createdTime,
      LastUpdatedTime: r.lastUpdatedTime,
      ExecutionId: r.executionId,
      HistoryStartSeq: r.historyStartSeq,
      NextSeq: r.nextSeq,
      IsEntity: r.isEntity,
      EntityExists: r.entityExists,
      ProcessedRequestIds: JSON.stringify(r.processedRequestIds),
    };
    if (r.parent) {
      row.ParentInstanceId = r.parent.instanceId;
      row.ParentTaskId = r.parent.taskScheduledId;
    }
    await this.pack(row, 'Input', r.input);
    await this.pack(row, 'Output', r.output);
    await this.pack(row, 'CustomStatus', r.customStatus);
    await this.pack(row, 'EntityState', r.entityState);
    return row;
  }

  private async rowToRecord(row: TableEntityResult<Record<string, unknown>>): Promise<InstanceRecord> {
    const parentId = row.ParentInstanceId;
    return {
      instanceId: unescapeKey(row.partitionKey ?? ''),
      name: text(row.Name),
      runtimeStatus: String(row.RuntimeStatus) as RuntimeStatus,
      input: await this.unpack(row, 'Input'),
      output: await this.unpack(row, 'Output'),
      customStatus: await this.unpack(row, 'CustomStatus'),
      createdTime: String(row.CreatedTime),
      lastUpdatedTime: String(row.LastUpdatedTime),
      executionId: text(row.ExecutionId),
      parent:
        typeof parentId === 'string'
          ? { instanceId: parentId, taskScheduledId: Number(row.ParentTaskId) }
          : undefined,
      historyStartSeq: Number(row.HistoryStartSeq ?? 0),
      nextSeq: Number(row.NextSeq ?? 0),
      isEntity: row.IsEntity === true,
      entityState: await this.unpack(row, 'EntityState'),
      entityExists: row.EntityExists === true,
      processedRequestIds: JSON.parse(text(row.ProcessedRequestIds) || '[]') as string[],
      etag: row.etag,
    };
  }

  private async jsonRow(pk: string, rk: string, value: unknown): Promise<Row> {
    const row: Row = { partitionKey: pk, rowKey: rk };
    await this.pack(row, 'Data', JSON.stringify(value));
    return row;
  }

  private async readJson<T>(row: Record<string, unknown>): Promise<T> {
    const text = await this.unpack(row, 'Data');
    if (text === undefined)
      throw new Error(`Durable row ${String(row.partitionKey)}/${String(row.rowKey)} has no data`);
    return JSON.parse(text) as T;
  }

  // ---- DurableStore ----------------------------------------------------------------------------

  async load(instanceId: string): Promise<PartitionSnapshot> {
    const pk = escapeKey(instanceId);
    const rows: TableEntityResult<Record<string, unknown>>[] = [];
    const filter = `PartitionKey eq '${pk.replace(/'/g, "''")}'`;
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } }))
      rows.push(row);
    const stateRow = rows.find((r) => r.rowKey === STATE_ROW);
    const record = stateRow ? await this.rowToRecord(stateRow) : undefined;
    const startKey = seqKey('h:', record?.historyStartSeq ?? 0);
    const history: HistoryRow[] = [];
    const inbox: InboxMessage[] = [];
    const outbox: { seq: number; messages: OutboxMessage[] }[] = [];
    for (const row of rows) {
      const rk = row.rowKey ?? '';
      if (rk.startsWith('h:') && rk >= startKey) {
        history.push({ seq: Number(rk.slice(2)), events: await this.readJson<HistoryEvent[]>(row) });
      } else if (rk.startsWith('i:')) {
        inbox.push(await this.readJson<InboxMessage>(row));
      } else if (rk.startsWith('o:')) {
        outbox.push({ seq: Number(rk.slice(2)), messages: await this.readJson<OutboxMessage[]>(row) });
      }
    }
    history.sort((a, b) => a.seq - b.seq);
    return { record, history, inbox, outbox };
  }

  async commit(instanceId: string, c: EpisodeCommit): Promise<string> {
    const pk = escapeKey(instanceId);
    const actions: TransactionAction[] = [];
    const stateRow = await this.recordToRow(c.record);
    if (c.isNew) actions.push(['create', stateRow]);
    else actions.push(['update', stateRow, 'Replace', { etag: c.record.etag ?? '*' }]);
    if (c.appendHistory)
      actions.push([
        'create',
        await this.jsonRow(pk, seqKey('h:', c.appendHistory.seq), c.appendHistory.events),
      ]);
    if (c.outbox)
      actions.push(['create', await this.jsonRow(pk, seqKey('o:', c.outbox.seq), c.outbox.messages)]);
    for (const id of c.consumedInbox)
      actions.push(['delete', { partitionKey: pk, rowKey: `i:${escapeKey(id)}` }]);
    for (const m of c.inboxInsert)
      actions.push(['upsert', await this.jsonRow(pk, `i:${escapeKey(m.id)}`, m), 'Replace']);
    if (actions.length > MAX_TRANSACTION_OPS) {
      throw new Error(
        `Episode for ${instanceId} needs ${actions.length} table operations (limit ${MAX_TRANSACTION_OPS})`,
      );
    }
    try {
      const result = await this.table.submitTransaction(actions);
      const etag = result.subResponses[0]?.etag ?? (await this.table.getEntity(pk, STATE_ROW)).etag;
      return etag;
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 412 || status === 409) {
        throw new ConcurrencyError(`Instance ${instanceId} was changed by someone else (${status})`);
      }
      throw err;
    }
  }

  async deliver(target: string, message: InboxMessage): Promise<void> {
    const pk = escapeKey(target);
    const row = await this.jsonRow(pk, `i:${escapeKey(message.id)}`, message);
    await this.table.upsertEntity(row, 'Replace');
  }

  async deleteOutbox(instanceId: string, seq: number): Promise<void> {
    await this.deleteRow(escapeKey(instanceId), seqKey('o:', seq));
  }

  async consumeOnly(instanceId: string, messageIds: string[]): Promise<void> {
    const pk = escapeKey(instanceId);
    await this.deleteRowsInBatches(
      pk,
      messageIds.map((id) => `i:${escapeKey(id)}`),
    );
  }

  private async deleteRow(pk: string, rk: string): Promise<void> {
    try {
      await this.table.deleteEntity(pk, rk);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
  }

  async deleteHistoryBefore(instanceId: string, seq: number): Promise<void> {
    const pk = escapeKey(instanceId);
    const filter = `PartitionKey eq '${pk.replace(/'/g, "''")}' and RowKey ge 'h:' and RowKey lt '${seqKey('h:', seq)}'`;
    const keys: string[] = [];
    for await (const row of this.table.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) {
      keys.push(row.rowKey ?? '');
    }
    await this.deleteRowsInBatches(pk, keys);
  }

  private async deleteRowsInBatches(pk: string, rowKeys: string[]): Promise<void> {
    for (let i = 0; i < rowKeys.length; i += MAX_TRANSACTION_OPS) {
      const batch = rowKeys.slice(i, i + MAX_TRANSACTION_OPS);
      await this.table.submitTransaction(
        batch.map((rk) => ['delete', { partitionKey: pk, rowKey: rk }] as TransactionAction),
      );
    }
  }

  async getRecord(instanceId: string): Promise<InstanceRecord | undefined> {
    try {
      const row = await this.table.getEntity<Record<string, unknown>>(escapeKey(instanceId), STATE_ROW);
      return await this.rowToRecord(row);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }

  async queryInstances(
    q: InstanceQuery,
  ): Promise<{ records: InstanceRecord[]; continuationToken: string | undefined }> {
    const clauses = [`RowKey eq '${STATE_ROW}'`, `IsEntity eq false`];
    if (q.createdTimeFrom) clauses.push(`CreatedTime ge '${q.createdTimeFrom}'`);
    if (q.createdTimeTo) clauses.push(`CreatedTime le '${q.createdTimeTo}'`);
    if (q.runtimeStatus && q.runtimeStatus.length > 0) {
      clauses.push(`(${q.runtimeStatus.map((s) => `RuntimeStatus eq '${s}'`).join(' or ')})`);
    }
    if (q.instanceIdPrefix) {
      const p = escapeKey(q.instanceIdPrefix).replace(/'/g, "''");
      clauses.push(`PartitionKey ge '${p}' and PartitionKey lt '${p}\uffff'`);
    }
    const pageSize = Math.min(Math.max(q.top ?? 100, 1), 1000);
    const pager = this.table
      .listEntities<Record<string, unknown>>({ queryOptions: { filter: clauses.join(' and ') } })
      .byPage({
        maxPageSize: pageSize,
        ...(q.continuationToken ? { continuationToken: q.continuationToken } : {}),
      });
    const page = await pager.next();
    if (page.done) return { records: [], continuationToken: undefined };
    const records = await Promise.all(page.value.map((row) => this.rowToRecord(row)));
    return { records, continuationToken: page.value.continuationToken };
  }

  async queryEntities(
    prefix: string,
    continuationToken?: string,
  ): Promise<{ records: InstanceRecord[]; continuationToken: string | undefined }> {
    const p = escapeKey(prefix).replace(/'/g, "''");
    const filter = `RowKey eq '${STATE_ROW}' and IsEntity eq true and PartitionKey ge '${p}' and PartitionKey lt '${p}\uffff'`;
    const page = await this.table
      .listEntities<Record<string, unknown>>({ queryOptions: { filter } })
      .byPage({ maxPageSize: 100, ...(continuationToken ? { continuationToken } : {}) })
      .next();
    if (page.done) return { records: [], continuationToken: undefined };
    return {
      records: await Promise.all(page.value.map((row) => this.rowToRecord(row))),
      continuationToken: page.value.continuationToken,
    };
  }

  async findInstancesToResume(): Promise<string[]> {
    const ids = new Set<string>();
    const filters = [
      `RowKey eq '${STATE_ROW}' and (RuntimeStatus eq 'Running' or RuntimeStatus eq 'Pending')`,
      `RowKey ge 'i:' and RowKey lt 'i;'`,
      `RowKey ge 'o:' and RowKey lt 'o;'`,
    ];
    for (const filter of filters) {
      for await (const row of this.table.listEntities({
        queryOptions: { filter, select: ['PartitionKey'] },
      })) {
        ids.add(unescapeKey(row.partitionKey ?? ''));
      }
    }
    return [...ids];
  }

  async purge(instanceId: string): Promise<boolean> {
    const pk = escapeKey(instanceId);
    const keys: string[] = [];
    const blobs: string[] = [];
    const filter = `PartitionKey eq '${pk.replace(/'/g, "''")}'`;
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      keys.push(row.rowKey ?? '');
      for (const [k, v] of Object.entries(row))
        if (k.endsWith('Blob') && typeof v === 'string') blobs.push(v);
    }
    if (keys.length === 0) return false;
    await this.deleteRowsInBatches(pk, keys);
    await Promise.all(blobs.map((b) => this.blobs.deleteBlob(b).catch(() => undefined)));
    return true;
  }
}
