/**
 * connect() against real servers (testkit: oidc-provider + the MCP SDK server), for both SDK
 * generations and both HTTP transports. Every count comes from the servers' own request log.
 */
import { afterEach, describe, expect, it } from "vitest";
import { connect as connectV1 } from "../src/index.js";
import { connect as connectV2 } from "../src/v2.js";
import {
  type AnyConnect,
  type AnyConnection,
  authServerRequests,
  forbidden,
  refreshes,
  setup,
  toolText,
} from "./support.js";

const generations: ReadonlyArray<{ readonly sdk: string; readonly connect: AnyConnect }> = [
  { sdk: "@modelcontextprotocol/sdk 1.x", connect: connectV1 },
  { sdk: "@modelcontextprotocol/client 2.x", connect: connectV2 },
];

const transports = ["streamable-http", "sse"] as const;

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  cleanup = [];
});

describe.each(generations)("$sdk", ({ connect }) => {
  describe.each(transports)("over %s", (transport) => {
    const start = async (options: Parameters<typeof setup>[0] = {}) => {
      const env = await setup({ ...options, mcp: { ...options.mcp, transport } });
      cleanup.push(env.close);
      return env;
    };
    const connected = async (
      env: Awaited<ReturnType<typeof start>>,
      overrides: Parameters<typeof env.connectOptions>[0] = {},
    ) => {
      const connection: AnyConnection = await connect(
        env.kit.mcpUrl,
        await env.connectOptions({ transport, ...overrides }),
      );
      cleanup.push(connection.close);
      return connection;
    };

    it("cold connect, a tool call, step-up, refresh, and a restart over the warm store that asks the authorization server nothing", async () => {
      const env = await start({ mcp: { challengeScope: ["mcp:read"] } });
      const { kit } = env;

      // Cold: 401 → resource metadata → AS metadata → registration → authorization → token.
      const first = await connected(env);
      expect(first.transport).toBe(transport);
      expect({
        registration: kit.count("registration"),
        authorization: kit.user.authorizations,
        token: kit.count("token"),
      }).toEqual({ registration: 1, authorization: 1, token: 1 });
      expect(
        toolText(await first.client.callTool({ name: "echo", arguments: { text: "hi" } })),
      ).toBe("hi");
      // The messages went where the transport sends them: the MCP URL (200, the answer in the
      // body), or the SSE message endpoint (202, the answer on the stream).
      const mcpPath = new URL(kit.mcpUrl).pathname;
      expect(
        transport === "sse"
          ? kit.count("mcp", { method: "POST", path: `${mcpPath}/messages`, status: 202 })
          : kit.count("mcp", { method: "POST", path: mcpPath, status: 200 }),
      ).toBeGreaterThan(0);

      // A tool that needs more scope: 403 insufficient_scope → one more authorization, no refresh.
      const note = await first.client.callTool({ name: "write-note", arguments: { text: "n" } });
      expect(toolText(note)).toBe("write-note: n");
      expect(forbidden(kit)).toBe(1);
      expect(kit.user.authorizations).toBe(2);
      expect(refreshes(kit)).toBe(0);

      // The server stops accepting the access token: exactly one refresh, no authorization.
      kit.expireAccessTokens();
      expect(
        toolText(await first.client.callTool({ name: "echo", arguments: { text: "again" } })),
      ).toBe("again");
      expect(refreshes(kit)).toBe(1);
      expect(kit.user.authorizations).toBe(2);

      // A restart: a new session over the same files. Not one request to the authorization server.
      await first.close();
      kit.clearLog();
      const second = await connected(env);
      const result = await second.client.callTool({
        name: "write-note",
        arguments: { text: "warm" },
      });
      expect(toolText(result)).toBe("write-note: warm");
      expect(authServerRequests(kit)).toEqual([]);
      expect(kit.user.authorizations).toBe(2);
    });

    it("a denied authorization rejects connect with AuthorizationDenied", async () => {
      const env = await start({ user: { grant: "deny" } });
      const options = await env.connectOptions({ transport });
      await expect(connect(env.kit.mcpUrl, options)).rejects.toMatchObject({
        _tag: "AuthorizationDenied",
      });
      expect(env.kit.user.authorizations).toBe(1);
    });

    it("a declined scope rejects the tool call with ScopeDeclined, and the connection goes on", async () => {
      const env = await start({ user: { grant: "all-but", decline: ["mcp:write"] } });
      const connection = await connected(env);
      await expect(
        connection.client.callTool({ name: "write-note", arguments: { text: "x" } }),
      ).rejects.toMatchObject({ _tag: "ScopeDeclined", missing: ["mcp:write"] });
      expect(
        toolText(await connection.client.callTool({ name: "echo", arguments: { text: "still" } })),
      ).toBe("still");
      expect(env.kit.user.authorizations).toBe(1);
    });
  });

  it("transport auto: an HTTP+SSE-only server answers the Streamable HTTP POST 405, and connect falls back to SSE", async () => {
    const env = await setup({ mcp: { transport: "sse" } });
    cleanup.push(env.close);
    const connection = await connect(env.kit.mcpUrl, await env.connectOptions());
    cleanup.push(connection.close);
    expect(connection.transport).toBe("sse");
    expect(
      toolText(await connection.client.callTool({ name: "echo", arguments: { text: "old" } })),
    ).toBe("old");
    // The POST met the 401 first: one authorization, whose token then opened the stream.
    expect(env.kit.user.authorizations).toBe(1);
    expect(env.kit.count("mcp", { method: "POST", status: 405 })).toBe(1);
  });

  it("transport auto: a Streamable HTTP server is used as it is", async () => {
    const env = await setup();
    cleanup.push(env.close);
    const connection = await connect(env.kit.mcpUrl, await env.connectOptions());
    cleanup.push(connection.close);
    expect(connection.transport).toBe("streamable-http");
    expect(
      toolText(await connection.client.callTool({ name: "echo", arguments: { text: "new" } })),
    ).toBe("new");
  });
});
