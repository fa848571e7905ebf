/**
 * The rest of connect()'s contract, for both SDK generations: a given session, cancellation, a
 * server that does not speak MCP, and transportOptions() for transports the application makes.
 */
import { createSession, type Session } from "@authchart/core";
import { startScriptedServer } from "@authchart/testkit";
import {
  Client as Client2,
  StreamableHTTPClientTransport as Http2,
  SSEClientTransport as Sse2,
} from "@modelcontextprotocol/client";
import { Client as Client1 } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport as Sse1 } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport as Http1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterEach, describe, expect, it } from "vitest";
import { connect as connectV1, transportOptions } from "../src/index.js";
import { connect as connectV2 } from "../src/v2.js";
import { type AnyConnect, redirectUri, setup, toolText } from "./support.js";

const generations: ReadonlyArray<{ readonly sdk: string; readonly connect: AnyConnect }> = [
  { sdk: "@modelcontextprotocol/sdk 1.x", connect: connectV1 },
  { sdk: "@modelcontextprotocol/client 2.x", connect: connectV2 },
];

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  cleanup = [];
});

const client = { clientName: "authchart mcp test", redirectUris: [redirectUri] as [string] };

describe.each(generations)("$sdk", ({ connect }) => {
  it("a given session is used and left open: a second connect over it authorizes nothing", async () => {
    const env = await setup();
    cleanup.push(env.close);
    const session = await createSession({
      serverUrl: env.kit.mcpUrl,
      client,
      userAgent: (prompt) => env.kit.user.authorize(prompt.url),
    });
    cleanup.push(() => session.close());
    const first = await connect(env.kit.mcpUrl, { session });
    expect(first.session).toBe(session);
    await first.close();
    const second = await connect(env.kit.mcpUrl, { session });
    cleanup.push(second.close);
    expect(toolText(await second.client.callTool({ name: "echo", arguments: { text: "s" } }))).toBe(
      "s",
    );
    expect(env.kit.user.authorizations).toBe(1);
  });

  it("an abort while the user is at the authorization server rejects with the signal's reason", async () => {
    const env = await setup();
    cleanup.push(env.close);
    const controller = new AbortController();
    const reason = new Error("the application gave up");
    const connecting = connect(
      env.kit.mcpUrl,
      await env.connectOptions({
        signal: controller.signal,
        // The browser step starts, and the application aborts while it waits.
        userAgent: (_prompt, signal) =>
          new Promise<string>((_, reject) => {
            signal.addEventListener("abort", () => reject(signal.reason), { once: true });
            controller.abort(reason);
          }),
      }),
    );
    await expect(connecting).rejects.toBe(reason);
  });

  it("a server that is no MCP server (404): McpConnectFailed after Streamable HTTP and SSE", async () => {
    const server = await startScriptedServer();
    cleanup.push(() => server.close());
    const failed = connect(`${server.origin}/mcp`, { client });
    await expect(failed).rejects.toMatchObject({
      _tag: "McpConnectFailed",
      transport: "sse",
      status: 404,
    });
    expect(server.requests.map((r) => `${r.method} ${r.status}`)).toEqual(["POST 404", "GET 404"]);
  });

  it("a server error (500) is the answer: no fallback to SSE", async () => {
    const server = await startScriptedServer({ "/mcp": { status: 500, body: "down" } });
    cleanup.push(() => server.close());
    await expect(connect(`${server.origin}/mcp`, { client })).rejects.toMatchObject({
      _tag: "McpConnectFailed",
      transport: "streamable-http",
      status: 500,
    });
    expect(server.requests.map((r) => r.method)).toEqual(["POST"]);
  });
});

describe("transportOptions(session) for transports the application makes", () => {
  const makers = {
    "1.x streamable-http": async (url: URL, session: Session) => {
      const c = new Client1({ name: "t", version: "1" });
      await c.connect(new Http1(url, transportOptions(session)));
      return c;
    },
    "1.x sse": async (url: URL, session: Session) => {
      const c = new Client1({ name: "t", version: "1" });
      await c.connect(new Sse1(url, transportOptions(session)));
      return c;
    },
    "2.x streamable-http": async (url: URL, session: Session) => {
      const c = new Client2({ name: "t", version: "1" });
      await c.connect(new Http2(url, transportOptions(session)));
      return c;
    },
    "2.x sse": async (url: URL, session: Session) => {
      const c = new Client2({ name: "t", version: "1" });
      await c.connect(new Sse2(url, transportOptions(session)));
      return c;
    },
  };

  it.each(Object.entries(makers))(
    "%s: the stream and the messages are authorized",
    async (name, make) => {
      const env = await setup({
        mcp: {
          transport: name.endsWith("sse") ? "sse" : "streamable-http",
          challengeScope: ["mcp:read"],
        },
      });
      cleanup.push(env.close);
      const session = await createSession({
        serverUrl: env.kit.mcpUrl,
        ...(await env.connectOptions()),
      });
      cleanup.push(() => session.close());
      const mcp = await make(new URL(env.kit.mcpUrl), session);
      cleanup.push(() => mcp.close());
      expect(toolText(await mcp.callTool({ name: "write-note", arguments: { text: "t" } }))).toBe(
        "write-note: t",
      );
      expect(env.kit.user.authorizations).toBe(2);
    },
  );
});
