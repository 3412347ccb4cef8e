// An HTTP proxy between the host and Azurite's table endpoint. It forwards every request unchanged, but a
// test can run code just before a chosen request reaches Azurite, for example another writer changing the
// row the host is about to write under an ETag. That turns "the host loses an ETag race" from timing luck
// into a deterministic event, with the production app and its real storage adapter unchanged.
// Shared Key signatures cover the path, not the host, so forwarding keeps them valid.
import * as http from 'node:http';

export interface TableRequest {
  readonly method: string;
  /** The request path, URL-decoded: `/devstoreaccount1/Table(PartitionKey='p',RowKey='r')`. */
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
}

export type Interceptor = (req: TableRequest) => Promise<void>;

export interface TableFaultProxy {
  readonly port: number;
  /** Runs before each request is forwarded (awaited); undefined forwards everything untouched. */
  intercept(f: Interceptor | undefined): void;
  close(): Promise<void>;
}

/** A conditional single-entity write (update) of one row: what a read-modify-write under an ETag sends. */
export function isConditionalWrite(
  req: TableRequest,
  table: string,
  partitionKey: string,
  rowKey: string,
): boolean {
  const ifMatch = req.headers['if-match'];
  return (
    (req.method === 'PUT' || req.method === 'MERGE' || req.method === 'PATCH') &&
    typeof ifMatch === 'string' &&
    ifMatch !== '*' &&
    req.path.endsWith(`/${table}(PartitionKey='${partitionKey}',RowKey='${rowKey}')`)
  );
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host']);

export async function startTableFaultProxy(targetPort: number): Promise<TableFaultProxy> {
  let interceptor: Interceptor | undefined;
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const url = req.url ?? '/';
        try {
          await interceptor?.({
            method: req.method ?? 'GET',
            path: decodeURIComponent(url),
            headers: req.headers,
          });
        } catch (err) {
          // A failing interceptor is a broken test, not a storage answer: make it loud.
          res.writeHead(599, { 'content-type': 'text/plain' });
          res.end(`table proxy interceptor failed: ${String(err)}`);
          return;
        }
        const headers: http.OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(req.headers))
          if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = v;
        headers.host = `127.0.0.1:${targetPort}`;
        headers['content-length'] = body.length;
        const upstream = http.request(
          { host: '127.0.0.1', port: targetPort, method: req.method, path: url, headers, agent },
          (up) => {
            const out: Buffer[] = [];
            up.on('data', (c: Buffer) => out.push(c));
            up.on('end', () => {
              const answer = Buffer.concat(out);
              const back: http.OutgoingHttpHeaders = {};
              for (const [k, v] of Object.entries(up.headers))
                if (!HOP_BY_HOP.has(k) && v !== undefined) back[k] = v;
              back['content-length'] = answer.length;
              res.writeHead(up.statusCode ?? 502, back);
              res.end(answer);
            });
          },
        );
        upstream.on('error', (err) => {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`table proxy: ${err.message}`);
        });
        upstream.end(body);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    intercept(f) {
      interceptor = f;
    },
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
