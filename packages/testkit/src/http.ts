/** Small node:http helpers shared by the servers: loopback listening, hard close, bodies, the log. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { RequestKind, RequestLogEntry } from "./types.js";

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface LoopbackServer {
  readonly server: Server;
  readonly origin: string;
  /** Replace the request handler (servers are bound before they are configured). */
  setHandler(handler: Handler): void;
  /** Stop listening and destroy every open socket, including ones with a request in flight. */
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "::1", "localhost"]);

/** Binds a node:http server to an ephemeral port on a loopback address. */
export async function listenLoopback(host = "127.0.0.1"): Promise<LoopbackServer> {
  if (!LOOPBACK_HOSTS.has(host)) {
    throw new Error(`testkit servers bind to loopback only, not ${host}`);
  }
  let handler: Handler = (_req, res) => sendJson(res, 503, { error: "not_ready" });
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((error: unknown) => {
        console.error("[authchart/testkit] handler failed", error);
        if (!res.headersSent) sendJson(res, 500, { error: "server_error" });
        else res.destroy();
      });
  });
  server.keepAliveTimeout = 1_000;
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port, family } = server.address() as AddressInfo;
  const hostPart = family === "IPv6" || host === "::1" ? "[::1]" : host;
  let closing: Promise<void> | undefined;
  return {
    server,
    origin: `http://${hostPart}:${port}`,
    setHandler(next) {
      handler = next;
    },
    close() {
      closing ??= (async () => {
        const ended = [...sockets].map(
          (socket) =>
            new Promise<void>((resolve) => {
              if (socket.destroyed) resolve();
              else socket.once("close", () => resolve());
            }),
        );
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
        await Promise.all([stopped, ...ended]);
        // Let the remaining 'close' listeners (request log entries of cut requests) run.
        await new Promise<void>((resolve) => setImmediate(resolve));
      })();
      return closing;
    },
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

/** Reads a request body as UTF-8, refusing more than `limit` bytes. */
export async function readBody(req: IncomingMessage, limit = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > limit) throw new Error("request body too large");
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function pathnameOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? "/", "http://loopback").pathname;
  } catch {
    return "/";
  }
}

/** The shared, live request log. */
export class RequestLog {
  readonly entries: RequestLogEntry[] = [];

  record(entry: RequestLogEntry): void {
    this.entries.push(entry);
  }

  /**
   * Appends an entry when the response is finished (or the connection ends first, status 0).
   * `describe` runs then, so it can read what the handlers learned about the request.
   */
  track(
    req: IncomingMessage,
    res: ServerResponse,
    server: RequestLogEntry["server"],
    describe: () => { kind: RequestKind; grantType?: string | undefined },
  ): void {
    const method = req.method ?? "GET";
    const path = pathnameOf(req);
    let done = false;
    const finish = (status: number) => {
      if (done) return;
      done = true;
      const { kind, grantType } = describe();
      this.record({
        server,
        method,
        path,
        status,
        kind,
        ...(grantType === undefined ? {} : { grantType }),
        ...(req.headers.dpop === undefined ? {} : { dpop: true as const }),
        at: Date.now(),
      });
    };
    res.once("finish", () => finish(res.statusCode));
    res.once("close", () => finish(res.writableFinished ? res.statusCode : 0));
  }

  count(kind: RequestKind, filter: Partial<RequestLogEntry> = {}): number {
    const conditions = Object.entries(filter) as [keyof RequestLogEntry, unknown][];
    return this.entries.filter(
      (entry) => entry.kind === kind && conditions.every(([key, value]) => entry[key] === value),
    ).length;
  }

  clear(): void {
    this.entries.length = 0;
  }
}

/**
 * Guesses the kind of a request from its path alone (used by scripted servers, which play any
 * role): well-known documents first, then the usual endpoint names.
 */
export function classifyByPath(path: string): RequestKind {
  if (path.startsWith("/.well-known/oauth-protected-resource")) return "prm";
  if (
    path.startsWith("/.well-known/oauth-authorization-server") ||
    path.startsWith("/.well-known/openid-configuration") ||
    path.endsWith("/.well-known/openid-configuration") ||
    path.endsWith("/.well-known/oauth-authorization-server")
  ) {
    return "as-metadata";
  }
  const last = path.split("/").filter(Boolean).pop() ?? "";
  switch (last) {
    case "token":
      return "token";
    case "register":
    case "registration":
    case "reg":
      return "registration";
    case "authorize":
    case "authorization":
    case "auth":
      return "authorization";
    case "jwks":
    case "jwks.json":
      return "jwks";
    case "mcp":
      return "mcp";
    default:
      return "other";
  }
}
