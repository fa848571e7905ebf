/**
 * A server that does not answer as an MCP server: connect rejects with McpConnectFailed, whose
 * `status` is an HTTP status (100–599) or none. SDK 1.x's Streamable HTTP transport uses the code
 * -1 for failures that have none (a 200 answer of the wrong content type, for one); it is no HTTP
 * status, and never printed as "(HTTP -1)".
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileStore } from "@authchart/node";
import { type ScriptedServer, startScriptedServer } from "@authchart/testkit";
import { afterEach, describe, expect, it } from "vitest";
import type { ConnectOptions } from "../src/connect.js";
import { connect as connectV1, McpConnectFailed } from "../src/index.js";
import { connect as connectV2 } from "../src/v2.js";
import { type AnyConnect, redirectUri } from "./support.js";

const generations: ReadonlyArray<{ readonly sdk: string; readonly connect: AnyConnect }> = [
  { sdk: "@modelcontextprotocol/sdk 1.x", connect: connectV1 },
  { sdk: "@modelcontextprotocol/client 2.x", connect: connectV2 },
];

let server: ScriptedServer | undefined;
let directory: string | undefined;
afterEach(async () => {
  await server?.close();
  if (directory) await rm(directory, { recursive: true, force: true });
  server = undefined;
  directory = undefined;
});

const options = async (transport: "streamable-http" | "sse"): Promise<ConnectOptions> => {
  directory = await mkdtemp(join(tmpdir(), "authchart-mcp-failures-"));
  return {
    client: { clientName: "authchart mcp test", redirectUris: [redirectUri] },
    userAgent: () => Promise.reject(new Error("no sign-in expected")),
    store: await fileStore({ directory }),
    transport,
  };
};

describe.each(generations)("$sdk", ({ connect }) => {
  it.each(["streamable-http", "sse"] as const)(
    "a 200 text/html page instead of an MCP server over %s: McpConnectFailed, no status that is not HTTP's",
    async (transport) => {
      server = await startScriptedServer({
        "/mcp": {
          status: 200,
          headers: { "content-type": "text/html" },
          body: "<!doctype html><title>a web page</title>",
        },
      });
      const failure = await connect(`${server.origin}/mcp`, await options(transport)).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(McpConnectFailed);
      const failed = failure as McpConnectFailed;
      // Streamable HTTP: the SDKs' -1 (no status); SSE: the 200 the stream was answered with.
      if (failed.status !== undefined) expect(failed.status).toBe(200);
      if (transport === "streamable-http") expect(failed.status).toBeUndefined();
      expect(failed.message).not.toContain("HTTP -");
    },
  );

  it("a 404: McpConnectFailed with the status", async () => {
    server = await startScriptedServer({
      "/mcp": { status: 404, headers: { "content-type": "text/plain" }, body: "not here" },
    });
    const failure = await connect(`${server.origin}/mcp`, await options("streamable-http")).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(McpConnectFailed);
    expect((failure as McpConnectFailed).status).toBe(404);
    expect((failure as McpConnectFailed).message).toContain("(HTTP 404)");
  });
});
