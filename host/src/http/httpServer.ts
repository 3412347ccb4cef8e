// The host's HTTP listener: one server on 127.0.0.1 and one on ::1, on the same port, because
// `localhost` may resolve to either (durable-functions' client uses http://localhost:7071 when
// WEBSITE_HOSTNAME is unset). It answers 503 until the host has loaded the app.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger';
import { HttpError, sendHttpError } from './httpErrors';
import type { RequestHandler } from './requestHandler';

/** How long close() lets in-flight requests finish before cutting their connections. */
export const CLOSE_GRACE_MS = 3000;

export class HostPortInUseError extends Error {
  readonly code = 'HTTP.PORT_IN_USE';
  constructor(readonly port: number) {
    super(
      `Port ${port} is already in use on 127.0.0.1 (is another host running?). Choose another with --port.`,
    );
    this.name = 'HostPortInUseError';
  }
}

export class HttpListener {
  private handler: RequestHandler | undefined;
  private readonly servers: http.Server[] = [];

  constructor(private readonly logger: Logger) {}

  /** Installs the request handler; until then every request gets 503. */
  setHandler(handler: RequestHandler): void {
    this.handler = handler;
  }

  /** Listens on 127.0.0.1 (required) and ::1 (best effort). Returns the bound port. */
  async listen(port: number): Promise<number> {
    const v4 = this.createServer();
    try {
      await listenOn(v4, port, '127.0.0.1');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new HostPortInUseError(port);
      throw err;
    }
    this.servers.push(v4);
    const bound = (v4.address() as AddressInfo).port;
    const v6 = this.createServer();
    try {
      await listenOn(v6, bound, '::1');
      this.servers.push(v6);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
      this.logger.warn(
        `Not listening on [::1]:${bound} (${code}); use http://127.0.0.1:${bound} if "localhost" does not connect.`,
      );
    }
    return bound;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
            force.unref();
            server.close(() => {
              clearTimeout(force);
              resolve();
            });
            server.closeIdleConnections();
          }),
      ),
    );
    this.servers.length = 0;
  }

  private createServer(): http.Server {
    const server = http.createServer((req, res) => {
      const handler = this.handler;
      if (!handler) {
        sendHttpError(
          res,
          new HttpError('HTTP.HOST_STARTING', 'The host is starting', {}, { 'retry-after': '1' }),
        );
        return;
      }
      void handler(req, res);
    });
    // Uploads up to Azure's 100 MB limit can take longer than Node's 5-minute default on slow links;
    // the function timeout bounds the rest.
    server.requestTimeout = 0;
    return server;
  }
}

function listenOn(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port, host, ipv6Only: host === '::1' });
  });
}
