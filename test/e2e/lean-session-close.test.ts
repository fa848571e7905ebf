/**
 * A lean session (restored from a warm store, its statechart not started) closed while one of
 * its requests is at the server: the answer that comes back after close() — a 401 that would
 * start the statechart — ends that request with FlowCancelled, as it does for a session whose
 * statechart runs, instead of leaving the caller waiting on an actor that close() never starts.
 */
import { type CredentialStoreService, createSession, type Session } from "@authchart/core";
import { startTestkit, type Testkit } from "@authchart/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { callTool, memoryStore, redirectUri } from "./support.js";

let kit: Testkit | undefined;
const sessions: Session[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close();
  await kit?.close();
  kit = undefined;
});

/** Real fetch, with the MCP server's answers held until released (the request is in flight). */
const heldAnswers = (mcpOrigin: string) => {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let sent: () => void = () => undefined;
  const atServer = new Promise<void>((resolve) => {
    sent = resolve;
  });
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const response = await globalThis.fetch(input, init);
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (new URL(url).origin === mcpOrigin) {
      sent();
      await released;
    }
    return response;
  };
  return { fetch, atServer, release };
};

const open = async (k: Testkit, store: CredentialStoreService, fetch?: typeof globalThis.fetch) => {
  const s = await createSession({
    serverUrl: k.mcpUrl,
    store,
    client: { clientName: "authchart lean close e2e", redirectUris: [redirectUri] },
    userAgent: (prompt) => k.user.authorize(prompt.url),
    ...(fetch ? { fetch } : {}),
  });
  sessions.push(s);
  return s;
};

describe("a lean session closed during a request", () => {
  it("a 401 answered after close() rejects the request with FlowCancelled: no wait, no flow", async () => {
    const k = await startTestkit();
    kit = k;
    const store = memoryStore();
    const first = await open(k, store);
    expect((await callTool(first, k.mcpUrl, "echo", { text: "login" })).status).toBe(200);
    await first.close();

    const held = heldAnswers(k.mcpOrigin);
    const s = await open(k, store, held.fetch);
    k.expireAccessTokens();
    const call = callTool(s, k.mcpUrl, "echo", { text: "in flight" });
    await held.atServer;
    await s.close();
    const authorizations = k.user.authorizations;
    const tokenRequests = k.count("token");
    held.release();
    await expect(call).rejects.toMatchObject({ _tag: "FlowCancelled" });
    // Nothing started after close: no refresh, no authorization.
    expect(k.count("token")).toBe(tokenRequests);
    expect(k.user.authorizations).toBe(authorizations);
  });
});
