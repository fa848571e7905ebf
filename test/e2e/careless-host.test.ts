/**
 * Issue "hostile servers and careless hosts", vulnerability 1 and its class: a server string that
 * collides with an Object.prototype member, and any failure of the statechart itself (here: a
 * host that sends the exposed actor a malformed event), end as typed failures for the waiting
 * requests and a session that keeps working — never an uncaught exception, never a hang.
 */
import type { TraceEntry } from "@authchart/core";
import { type ScriptedServer, startScriptedServer } from "@authchart/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { seeded } from "./support.js";

const uncaught: unknown[] = [];
const collect = (error: unknown) => uncaught.push(error);
let server: ScriptedServer;
const closing: Array<() => Promise<unknown>> = [];
beforeEach(async () => {
  uncaught.length = 0;
  process.on("uncaughtException", collect);
  process.on("unhandledRejection", collect);
  server = await startScriptedServer();
  closing.push(() => server.close());
});
afterEach(async () => {
  // xstate reports an unobserved actor error from a timer: give it the chance to surface.
  await new Promise((resolve) => setTimeout(resolve, 50));
  process.off("uncaughtException", collect);
  process.off("unhandledRejection", collect);
  for (const close of closing.splice(0).reverse()) await close();
  expect(uncaught).toEqual([]);
});

const open = async (token: string) => {
  const session = await seeded(`${server.origin}/mcp`, token);
  closing.push(() => session.close());
  return session;
};

describe("a server string named like an Object.prototype member", () => {
  it.each(["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"])(
    "a 403 insufficient_scope for %s: typed failures, bounded requests, the session still serves",
    async (scope) => {
      server.route("/mcp", (req) =>
        req.headers["x-step"] === "ok"
          ? { status: 200, body: "ok" }
          : {
              status: 403,
              headers: {
                "www-authenticate": `Bearer error="insufficient_scope", scope="${scope}"`,
              },
            },
      );
      const session = await open("tok-proto");
      for (let i = 0; i < 5; i++) {
        const before = server.requests.length;
        const error = await session.fetch(`${server.origin}/mcp`).catch((e: unknown) => e);
        expect(error).toMatchObject({ _tag: expect.any(String) });
        expect(server.requests.length - before).toBeLessThanOrEqual(12);
      }
      const ok = await session.fetch(`${server.origin}/mcp`, { headers: { "x-step": "ok" } });
      expect(await ok.text()).toBe("ok");
      expect(session.actor.getSnapshot().status).toBe("active");
    },
  );

  it("a 401 challenge scope named constructor reaches the loop guard's counters safely", async () => {
    let n = 0;
    server.route("/mcp", () => ({
      status: 401,
      headers: { "www-authenticate": `Bearer scope="constructor __proto__"` },
      body: String(++n),
    }));
    const session = await open("tok-proto-401");
    const error = await session.fetch(`${server.origin}/mcp`).catch((e: unknown) => e);
    expect(error).toMatchObject({ _tag: expect.any(String) });
    expect(session.actor.getSnapshot().status).toBe("active");
  });
});

describe("a failure of the statechart itself", () => {
  it("a malformed event from the host: waiters get StepDefect, the session restarts from its last quiet state", async () => {
    server.route("/mcp", { status: 200, body: "ok" });
    const session = await open("tok-recover");
    const trace: TraceEntry[] = [];
    session.onTrace((entry) => trace.push(entry));
    const first = session.actor;
    // A careless host: an event without the challenge every guard expects.
    first.send({
      type: "challenge.received",
      requestId: "x",
      challenge: null,
      tokenVersion: session.state().token?.version,
    } as never);
    expect(first.getSnapshot().status).toBe("error");
    expect(session.actor).not.toBe(first);
    expect(session.state().value).toBe("authorized");
    expect(trace.map((t) => t.decision)).toContain("recovered");
    const response = await session.fetch(`${server.origin}/mcp`);
    expect(response.status).toBe(200);
    expect(server.requests.at(-1)?.path).toBe("/mcp");
  });

  it("listeners and inspectors that throw do not break the session", async () => {
    server.route("/mcp", { status: 200, body: "ok" });
    const session = await seeded(`${server.origin}/mcp`, "tok-listeners", {
      onTrace: () => {
        throw new Error("trace listener bug");
      },
      inspect: () => {
        throw new Error("inspector bug");
      },
    });
    closing.push(() => session.close());
    session.subscribe(() => {
      throw new Error("state listener bug");
    });
    session.onTrace(() => {
      throw new Error("another trace listener bug");
    });
    const response = await session.fetch(`${server.origin}/mcp`);
    expect(response.status).toBe(200);
    expect(session.actor.getSnapshot().status).toBe("active");
  });
});
