/**
 * Child process (started with --expose-gc): N sessions of one kind over a warm store — heap per
 * session, creation and close time per session, timers and handles while open and after close.
 * Usage: node --expose-gc dist/heap.js <authchart|sdk1|sdk2> <n>; prints one JSON line.
 */
// First: every module's timers are counted from here on.

import {
  Client as ClientV2,
  StreamableHTTPClientTransport as TransportV2,
} from "@modelcontextprotocol/client";
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as TransportV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { warmSession, warmStore } from "./authchart.js";
import { liveTimers } from "./live-timers.js";
import { asV2, MemoryProvider } from "./sdk-clients.js";

const kind = process.argv[2] ?? "authchart";
const n = Number(process.argv[3] ?? "1000");
// Nothing listens here: creating a session must not need the network.
const serverUrl = "http://127.0.0.1:9/mcp";
const token = "bench-token";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("heap.js needs node --expose-gc");

const fullGc = () => {
  for (let i = 0; i < 3; i++) gc();
};

/** Timers held (ref'd or not, see live-timers.ts) and the handles that keep the process alive. */
const resources = () => ({
  timers: liveTimers(),
  handles: process.getActiveResourcesInfo().length,
});

type Closeable = { close(): Promise<void> };

const makeFactory = async (): Promise<() => Promise<Closeable>> => {
  const tokens = { access_token: token, token_type: "Bearer" };
  const refuse = () => Promise.reject(new Error("no authorization in the heap run"));
  switch (kind) {
    case "authchart": {
      const store = await warmStore(serverUrl, token);
      return () => warmSession(serverUrl, store);
    }
    case "sdk1":
      return async () => {
        const transport = new TransportV1(new URL(serverUrl), {
          authProvider: new MemoryProvider(refuse, tokens),
        });
        const client = new ClientV1({ name: "bench", version: "0.0.0" });
        return {
          close: async () => {
            await transport.close();
            await client.close();
          },
        };
      };
    default:
      return async () => {
        const transport = new TransportV2(new URL(serverUrl), {
          authProvider: asV2(new MemoryProvider(refuse, tokens)),
        });
        const client = new ClientV2({ name: "bench", version: "0.0.0" });
        return {
          close: async () => {
            await transport.close();
            await client.close();
          },
        };
      };
  }
};

const main = async () => {
  const create = await makeFactory();
  // Warm-up: load every module and JIT the paths before measuring.
  for (let i = 0; i < 50; i++) await (await create()).close();
  fullGc();
  const before = resources();
  const heap0 = process.memoryUsage().heapUsed;
  const sessions: Closeable[] = new Array(n);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sessions[i] = await create();
  const t1 = process.hrtime.bigint();
  fullGc();
  const heap1 = process.memoryUsage().heapUsed;
  const open = resources();
  const t2 = process.hrtime.bigint();
  for (const s of sessions) await s.close();
  const t3 = process.hrtime.bigint();
  sessions.length = 0;
  fullGc();
  const after = resources();
  process.stdout.write(
    `${JSON.stringify({
      kind,
      n,
      heapPerSession: (heap1 - heap0) / n,
      heapTotal: heap1 - heap0,
      createUs: Number(t1 - t0) / 1000 / n,
      closeUs: Number(t3 - t2) / 1000 / n,
      timersWhileOpen: open.timers - before.timers,
      timersAfterClose: after.timers - before.timers,
      handlesAfterClose: after.handles - before.handles,
    })}\n`,
  );
};

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
