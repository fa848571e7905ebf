/**
 * A tiny scripted HTTP server for bad-input tests: each path answers what a test scripted
 * (malformed JSON, wrong content type, oversized or endless bodies, redirects elsewhere, silence).
 */
import type { ServerResponse } from "node:http";
import {
  classifyByPath,
  listenLoopback,
  pathnameOf,
  RequestLog,
  readBody,
  sendJson,
} from "./http.js";
import type { ScriptedRequest, ScriptedResponse, ScriptedRoute, ScriptedServer } from "./types.js";

export async function startScriptedServer(
  routes: Record<string, ScriptedRoute> = {},
  options: { host?: string } = {},
): Promise<ScriptedServer> {
  const loopback = await listenLoopback(options.host ?? "127.0.0.1");
  const table = new Map<string, ScriptedRoute>(Object.entries(routes));
  const log = new RequestLog();
  const timers = new Set<NodeJS.Timeout>();
  const grantTypes = new WeakMap<object, string>();
  let closed = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const write = async (res: ServerResponse, response: ScriptedResponse): Promise<void> => {
    const status = response.status ?? 200;
    for (const [name, value] of Object.entries(response.headers ?? {})) {
      res.setHeader(name, typeof value === "string" ? value : [...value]);
    }
    if (response.chunks) {
      // No content-length: node answers with chunked transfer encoding.
      res.removeHeader("content-length");
      res.writeHead(status);
      for (let i = 0; i < response.chunks.count && !closed && !res.destroyed; i++) {
        const ok = res.write(response.chunks.chunk);
        if (!ok) {
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off("drain", done);
              res.off("close", done);
              resolve();
            };
            res.once("drain", done);
            res.once("close", done);
          });
        }
      }
      if (!res.destroyed) res.end();
      return;
    }
    const body = response.body ?? "";
    const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body);
    if (!res.hasHeader("content-length")) res.setHeader("content-length", bytes.length);
    res.writeHead(status);
    res.end(bytes);
  };

  loopback.setHandler(async (req, res) => {
    const path = pathnameOf(req);
    const url = new URL(req.url ?? "/", loopback.origin);
    log.track(req, res, "scripted", () => {
      const kind = classifyByPath(path);
      return { kind, grantType: kind === "token" ? grantTypes.get(req) : undefined };
    });
    const body = await readBody(req, 16 * 1024 * 1024).catch(() => "");
    const grantType = new URLSearchParams(body).get("grant_type");
    if (grantType !== null) grantTypes.set(req, grantType);
    const route = table.get(path);
    if (route === undefined) {
      sendJson(res, 404, { error: "not_found", path });
      return;
    }
    const request: ScriptedRequest = {
      method: req.method ?? "GET",
      path,
      query: url.searchParams,
      headers: { ...req.headers },
      body,
      origin: loopback.origin,
    };
    const response = typeof route === "function" ? route(request) : route;
    if (response.delayMs !== undefined && response.delayMs > 0) await sleep(response.delayMs);
    if (response.hang || closed) return; // never answer; close() destroys the socket
    await write(res, response);
  });

  return {
    origin: loopback.origin,
    requests: log.entries,
    route(path, r) {
      table.set(path, r);
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await loopback.close();
    },
  };
}
