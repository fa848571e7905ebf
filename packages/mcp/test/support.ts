/** Shared by the connect tests: real servers (testkit), a file store in a temporary directory. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Session } from "@authchart/core";
import { fileStore, makeFileLock } from "@authchart/node";
import { startTestkit, type Testkit, type TestkitOptions } from "@authchart/testkit";
import type { ConnectOptions, NewSessionOptions } from "../src/connect.js";

export const redirectUri = "http://127.0.0.1:33418/callback";

/** What the tests need of either SDK generation's connection. */
export interface AnyConnection {
  readonly client: {
    callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<unknown>;
  };
  readonly session: Session;
  readonly transport: "streamable-http" | "sse";
  readonly close: () => Promise<void>;
}

export type AnyConnect = (url: string, options: ConnectOptions) => Promise<AnyConnection>;

export const toolText = (result: unknown) =>
  (((result as { content?: unknown }).content ?? []) as Array<{ text?: string }>)
    .map((c) => c.text ?? "")
    .join("");

export const refreshes = (kit: Testkit) =>
  kit.requests.filter((r) => r.kind === "token" && r.grantType === "refresh_token").length;

export const forbidden = (kit: Testkit) =>
  kit.requests.filter((r) => r.kind === "mcp" && r.status === 403).length;

/** Requests to the authorization server: metadata, registration, authorization, token, … */
export const authServerRequests = (kit: Testkit) => kit.requests.filter((r) => r.server === "as");

/** Servers, a store directory and the options that connect through them; `close` ends all. */
export const setup = async (options: TestkitOptions = {}) => {
  const kit = await startTestkit(options);
  const directory = await mkdtemp(join(tmpdir(), "authchart-mcp-"));
  const connectOptions = async (
    overrides: Partial<NewSessionOptions> = {},
  ): Promise<NewSessionOptions> => ({
    client: { clientName: "authchart mcp test", redirectUris: [redirectUri] },
    userAgent: (prompt) => kit.user.authorize(prompt.url),
    store: await fileStore({ directory }),
    lock: makeFileLock({ directory }),
    ...overrides,
  });
  return {
    kit,
    directory,
    connectOptions,
    close: async () => {
      await kit.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
};
