/**
 * NodeAuth.layer end to end against the testkit: a session built on it logs in (the testkit's
 * user in place of the browser), its tokens land in the file store, and a second session over
 * the same layer restores them without a request to the authorization server — through
 * createSession and through core's Effect API. Its SessionLock is the file lock beside the store.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import {
  AuthSession,
  authorizedFetch,
  CredentialStore,
  createSession,
  LockTimeout,
  SessionLock,
  StoreFailed,
} from "@authchart/core";
import { startTestkit, type Testkit } from "@authchart/testkit";
import { Effect, Exit, Option, Redacted } from "effect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeFileLock } from "../src/file-lock.js";
import { FileCredentialStore, METADATA_FILE, SECRETS_FILE } from "../src/file-store.js";
import { NodeAuth, type NodeAuthOptions } from "../src/layers.js";

const posix = process.platform !== "win32";
const client = {
  clientName: "authchart node layer",
  redirectUris: ["http://127.0.0.1:33418/callback"],
} as const;

let kit: Testkit | undefined;
let directory: string;
beforeEach(async () => {
  directory = path.join(await mkdtemp(path.join(tmpdir(), "authchart-layer-")), "authchart");
});
afterEach(async () => {
  await kit?.close();
  kit = undefined;
  await rm(path.dirname(directory), { recursive: true, force: true });
});

const callTool = (fetch: typeof globalThis.fetch, url: string) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "echo", arguments: { text: "via the node layer" } },
    }),
  });

/** The layer as a test builds it: the testkit's user signs in; the AS is on loopback http. */
const layerFor = (k: Testkit, extra: Partial<NodeAuthOptions> = {}) =>
  NodeAuth.layer({
    directory,
    userAgent: (prompt) => k.user.authorize(prompt.url),
    http: { allowInsecureLoopback: true },
    ...extra,
  });

describe("NodeAuth.layer", () => {
  it("shows the device grant's user code through its deviceCodePresenter (RFC 8628 §3.3)", async () => {
    const k = await startTestkit({ authServer: { deviceFlow: { interval: 1 } } });
    kit = k;
    const shown: string[] = [];
    const layer = layerFor(k, {
      deviceCodePresenter: async (prompt) => {
        shown.push(prompt.verificationUri);
        // The user enters the code on another device while the session polls.
        setTimeout(() => void k.user.enterUserCode(prompt.verificationUri, prompt.userCode), 20);
      },
    });
    const session = await createSession({
      serverUrl: k.mcpUrl,
      client: { clientName: "authchart node layer", grant: { type: "device_code" } },
      layer,
    });
    try {
      const response = await callTool(session.fetch, k.mcpUrl);
      expect(response.status).toBe(200);
      await response.body?.cancel();
      expect(shown).toHaveLength(1);
      expect(k.count("authorization")).toBe(0);
    } finally {
      await session.close();
    }
  });

  it("createSession over it logs in once, keeps the tokens in the file store, and a second session restores them without the AS", async () => {
    const k = await startTestkit();
    kit = k;
    const layer = layerFor(k);

    const first = await createSession({ serverUrl: k.mcpUrl, client, layer });
    const response = await callTool(first.fetch, k.mcpUrl);
    expect(response.status).toBe(200);
    await response.body?.cancel();
    expect(k.user.authorizations).toBe(1);
    const token = first.state().token;
    expect(token).toBeDefined();
    await first.close();

    // The tokens are in secrets.json (0600), not in metadata.json; the lock directory is private.
    const stored = await Effect.runPromise(
      Effect.flatMap(CredentialStore, (store) =>
        store.loadTokens({
          resource: token?.resource ?? "",
          issuer: token?.issuer ?? "",
          clientId: token?.clientId ?? "",
        }),
      ).pipe(Effect.provide(layer)),
    );
    const access = Redacted.value(Option.getOrThrow(stored).accessToken);
    expect(await readFile(path.join(directory, SECRETS_FILE), "utf8")).toContain(access);
    expect(await readFile(path.join(directory, METADATA_FILE), "utf8")).not.toContain(access);
    if (posix) {
      expect((await stat(path.join(directory, SECRETS_FILE))).mode & 0o777).toBe(0o600);
      expect((await stat(path.join(directory, "locks"))).mode & 0o777).toBe(0o700);
    }

    k.clearLog();
    const second = await createSession({
      serverUrl: k.mcpUrl,
      client,
      layer: layerFor(k, {
        userAgent: () => Promise.reject(new Error("no login on the second run")),
      }),
    });
    expect(second.state().value).toBe("authorized");
    const again = await callTool(second.fetch, k.mcpUrl);
    expect(again.status).toBe(200);
    await again.body?.cancel();
    await second.close();
    expect(k.requests.filter((r) => r.server === "as")).toEqual([]);
    expect(k.user.authorizations).toBe(1);
  });

  it("with its default user agent (nodeUserAgent): the 'browser' the testkit's user drives lands on the loopback receiver", async () => {
    const k = await startTestkit();
    kit = k;
    let launches = 0;
    const session = await createSession({
      serverUrl: k.mcpUrl,
      // An ephemeral port (RFC 8252 §7.3): a fixed one can be held by any loopback connection.
      client: { ...client, redirectUris: ["http://127.0.0.1:0/callback"] },
      layer: NodeAuth.layer({
        directory,
        http: { allowInsecureLoopback: true },
        userAgent: {
          headless: false,
          output: new PassThrough(),
          // The system browser, played by the testkit's user: it signs in and follows the
          // redirect to the receiver.
          launch: async (url) => {
            launches++;
            const callback = await k.user.authorize(url);
            await (await fetch(callback)).text();
          },
        },
      }),
    });
    const response = await callTool(session.fetch, k.mcpUrl);
    expect(response.status).toBe(200);
    await response.body?.cancel();
    expect(launches).toBe(1);
    await session.close();
  });

  it("core's Effect API: AuthSession.layer over it logs in, and the saved session is in the file store", async () => {
    const k = await startTestkit();
    kit = k;
    const layer = layerFor(k);
    const program = Effect.gen(function* () {
      const response = yield* authorizedFetch(k.mcpUrl, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "tools/call",
          params: { name: "echo", arguments: { text: "effect" } },
        }),
      });
      yield* Effect.promise(() => response.text());
      return response.status;
    });
    const status = await Effect.runPromise(
      program.pipe(Effect.provide(AuthSession.layer({ serverUrl: k.mcpUrl, client, layer }))),
    );
    expect(status).toBe(200);
    const sessions = await Effect.runPromise(
      Effect.flatMap(FileCredentialStore, (store) => store.listSessions()).pipe(
        Effect.provide(layer),
      ),
    );
    expect(sessions).toEqual([k.mcpUrl]);

    // Restored in a new scope: no authorization server request at all.
    k.clearLog();
    const restored = await Effect.runPromise(
      program.pipe(
        Effect.provide(
          AuthSession.layer({
            serverUrl: k.mcpUrl,
            client,
            layer: layerFor(k, { userAgent: () => Promise.reject(new Error("no login")) }),
          }),
        ),
      ),
    );
    expect(restored).toBe(200);
    expect(k.requests.filter((r) => r.server === "as")).toEqual([]);
  });

  it("its SessionLock is the file lock in `locks` beside the store: another holder's lock there excludes it", async () => {
    const program = Effect.flatMap(SessionLock, (lock) =>
      lock.withLock("tokens-layer", Effect.succeed("held"), { waitMillis: 300 }),
    );
    const other = makeFileLock({ directory: path.join(directory, "locks") });
    const exit = await Effect.runPromise(
      other.withLock(
        "tokens-layer",
        Effect.promise(() =>
          Effect.runPromiseExit(program.pipe(Effect.provide(NodeAuth.layer({ directory })))),
        ),
      ),
    );
    expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toBeInstanceOf(
      LockTimeout,
    );
    expect(
      await Effect.runPromise(program.pipe(Effect.provide(NodeAuth.layer({ directory })))),
    ).toBe("held");
  });

  it("a store that cannot be opened: createSession rejects with its StoreFailed, describe() says why", async () => {
    await rm(path.dirname(directory), { recursive: true, force: true });
    await writeFile(path.dirname(directory), "not a directory");
    const k = await startTestkit();
    kit = k;
    const failure = await createSession({ serverUrl: k.mcpUrl, client, layer: layerFor(k) }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(StoreFailed);
    expect(failure).toMatchObject({ _tag: "StoreFailed", operation: "loadSession" });
    expect(k.requests).toEqual([]);
    const description = await Effect.runPromise(
      Effect.map(FileCredentialStore, (store) => store.describe()).pipe(
        Effect.provide(layerFor(k)),
      ),
    );
    expect(description).toMatchObject({ directory, kind: "file", requested: "file" });
    expect(description.unavailable).toMatch(/cannot prepare/);
  });
});
