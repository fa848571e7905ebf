/**
 * Ephemeral redirect ports end to end (RFC 8252 §7.3): "bind before building the request". A
 * redirect URI `http://127.0.0.1:0/callback` is registered without a port; for each login
 * nodeUserAgent's loopback receiver binds a free port before the authorization URL exists, the
 * authorization request and the token request carry that port (RFC 6749 §4.1.3), and the receiver
 * is closed afterwards — against the real authorization server (oidc-provider allows any loopback
 * port for native clients) and the MCP SDK server. A fixed port works exactly as before.
 */
import * as http from "node:http";
import * as net from "node:net";
import { PassThrough } from "node:stream";
import {
  type BindFirstUserAgent,
  type CredentialStoreService,
  createSession,
  defaultRedirectUri,
  type Session,
} from "@authchart/core";
import { nodeUserAgent } from "@authchart/node";
import { startTestkit, type Testkit } from "@authchart/testkit";
import { Effect, Option } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { callTool, memoryStore, toolText } from "./support.js";

let kit: Testkit | undefined;
const sessions: Session[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close();
  await kit?.close();
  kit = undefined;
});

const ephemeral = "http://127.0.0.1:0/callback";

/** A browser's GET of the callback (its own connection). */
const get = (url: string) =>
  new Promise<number>((resolve, reject) => {
    http
      .get(url, { agent: false }, (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
      })
      .on("error", reject);
  });

const isFree = async (port: number) => {
  const server = net.createServer();
  const free = await new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => resolve(true));
  });
  if (free) await new Promise<void>((resolve) => server.close(() => resolve()));
  return free;
};

const quiet = () => new PassThrough().resume();

const registeredRedirects = async (store: CredentialStoreService, issuer: string) =>
  Option.getOrUndefined(await Effect.runPromise(store.loadClient(issuer)))?.redirectUris;

const session = async (k: Testkit, redirectUri: string, userAgent: BindFirstUserAgent) => {
  const store = memoryStore();
  const s = await createSession({
    serverUrl: k.mcpUrl,
    client: { clientName: "authchart e2e", redirectUris: [redirectUri] },
    store,
    userAgent,
  });
  sessions.push(s);
  return { s, store };
};

describe("an ephemeral-port redirect URI with nodeUserAgent", () => {
  it("two concurrent logins bind two distinct ports before their requests exist; both succeed; both ports are freed", async () => {
    const k = await startTestkit();
    kit = k;
    // The browser: both authorization URLs are opened while both receivers listen; then the
    // user (one browser, one cookie jar) finishes one sign-in after the other.
    const opened: string[] = [];
    let bothOpen!: () => void;
    const ready = new Promise<void>((resolve) => {
      bothOpen = resolve;
    });
    let user = Promise.resolve();
    const launch = async (url: string) => {
      opened.push(url);
      if (opened.length === 2) bothOpen();
      await ready;
      user = user.then(async () => {
        expect(await get(await k.user.authorize(url))).toBe(200);
      });
    };
    const agent = () => nodeUserAgent({ headless: false, launch, output: quiet() });
    const [a, b] = await Promise.all([
      session(k, ephemeral, agent()),
      session(k, ephemeral, agent()),
    ]);
    const results = await Promise.all(
      [a, b].map(({ s }, i) => callTool(s, k.mcpUrl, "echo", { text: `login ${i}` })),
    );
    expect(results.map((r) => toolText(r.body.result ?? {}))).toEqual(["login 0", "login 1"]);
    const sent = opened.map((url) => new URL(url).searchParams.get("redirect_uri") ?? "");
    const ports = sent.map((uri) => Number(new URL(uri).port));
    expect(new Set(ports).size).toBe(2);
    expect(sent).toEqual(ports.map((port) => `http://127.0.0.1:${port}/callback`));
    expect(ports.every((port) => port > 0)).toBe(true);
    // Registered without a port (RFC 8252 §7.3), one client per store.
    for (const { store } of [a, b])
      expect(await registeredRedirects(store, k.issuer)).toEqual(["http://127.0.0.1/callback"]);
    expect(k.count("token")).toBe(2);
    for (const port of ports) expect(await isFree(port)).toBe(true);
  });

  it("a fixed port works exactly as before: registered, requested and redeemed as is", async () => {
    const k = await startTestkit();
    kit = k;
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", () => resolve()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const fixed = `http://127.0.0.1:${port}/callback`;
    const opened: string[] = [];
    const { s, store } = await session(
      k,
      fixed,
      nodeUserAgent({
        headless: false,
        output: quiet(),
        launch: async (url) => {
          opened.push(url);
          expect(await isFree(port)).toBe(false);
          await get(await k.user.authorize(url));
        },
      }),
    );
    expect((await callTool(s, k.mcpUrl, "echo", { text: "fixed" })).status).toBe(200);
    expect(opened.map((url) => new URL(url).searchParams.get("redirect_uri"))).toEqual([fixed]);
    expect(await registeredRedirects(store, k.issuer)).toEqual([fixed]);
    expect(await isFree(port)).toBe(true);
  });
});

describe("no redirect URI configured", () => {
  it("the default is a loopback redirect on a free port (defaultRedirectUri), bound by nodeUserAgent", async () => {
    const k = await startTestkit();
    kit = k;
    const opened: string[] = [];
    const store = memoryStore();
    const s = await createSession({
      serverUrl: k.mcpUrl,
      client: { clientName: "authchart e2e" },
      store,
      userAgent: nodeUserAgent({
        headless: false,
        output: quiet(),
        launch: async (url) => {
          opened.push(url);
          await get(await k.user.authorize(url));
        },
      }),
    });
    sessions.push(s);
    expect((await callTool(s, k.mcpUrl, "echo", { text: "default" })).status).toBe(200);
    expect(defaultRedirectUri).toBe(ephemeral);
    const sent = new URL(new URL(opened[0] ?? "").searchParams.get("redirect_uri") ?? "");
    expect(sent.hostname).toBe("127.0.0.1");
    expect(Number(sent.port)).toBeGreaterThan(0);
    expect(await registeredRedirects(store, k.issuer)).toEqual(["http://127.0.0.1/callback"]);
  });

  it("a plain-function user agent, which cannot bind a port first, is told to name its redirect URI", async () => {
    await expect(
      createSession({
        serverUrl: "https://mcp.example.com/mcp",
        client: { clientName: "authchart e2e" },
        userAgent: async () => "http://127.0.0.1:1/callback",
      }),
    ).rejects.toMatchObject({
      _tag: "InvalidClientConfiguration",
      message: expect.stringContaining("give client.redirectUris"),
    });
  });

  it("grants without a browser step need none", async () => {
    const s = await createSession({
      serverUrl: "https://mcp.example.com/mcp",
      client: {
        clientName: "authchart e2e",
        grant: { type: "device_code" },
      },
      userAgent: async () => "unused",
    });
    await s.close();
  });
});

describe("hostile: what arrives must arrive at the endpoint that was bound", () => {
  /**
   * A user agent that binds `bound` and hands back the authorization server's callback moved by
   * `move` — a redirect that went somewhere else than the bound endpoint.
   */
  const moved = (
    k: Testkit,
    move: (callback: URL) => void,
  ): BindFirstUserAgent & { closed: number } => {
    const agent = {
      closed: 0,
      prepare: async () => ({
        redirectUri: "http://127.0.0.1:41234/callback",
        authorize: async (url: string) => {
          const callback = new URL(await k.user.authorize(url));
          move(callback);
          return callback.href;
        },
        close: async () => {
          agent.closed++;
        },
      }),
    };
    return agent;
  };

  for (const [name, move] of [
    [
      "another port",
      (u: URL) => {
        u.port = "41235";
      },
    ],
    [
      "another path",
      (u: URL) => {
        u.pathname = "/callback/";
      },
    ],
    [
      "port 0",
      (u: URL) => {
        u.port = "0";
      },
    ],
  ] as const) {
    it(`a callback on ${name} than the bound one is refused: no code redeemed, the endpoint closed`, async () => {
      const k = await startTestkit();
      kit = k;
      const agent = moved(k, move);
      const { s } = await session(k, ephemeral, agent);
      await expect(s.authorize()).rejects.toMatchObject({ _tag: "InvalidCallback" });
      expect(k.count("token")).toBe(0);
      expect(agent.closed).toBe(1);
    });
  }

  it("a user agent that claims another endpoint than the registered one is refused before any request", async () => {
    const k = await startTestkit();
    kit = k;
    let opened = 0;
    const { s } = await session(k, ephemeral, {
      prepare: async () => ({
        redirectUri: "http://127.0.0.1:41236/elsewhere",
        authorize: async () => {
          opened++;
          return "";
        },
        close: async () => {},
      }),
    });
    await expect(s.authorize()).rejects.toMatchObject({ _tag: "UserAgentFailed" });
    expect(opened).toBe(0);
    expect(k.count("authorization")).toBe(0);
  });

  it("configurations that cannot work are refused when the session is created", async () => {
    const k = await startTestkit();
    kit = k;
    const create = (
      redirectUri: string,
      userAgent: Parameters<typeof createSession>[0]["userAgent"],
    ) =>
      createSession({
        serverUrl: k.mcpUrl,
        client: { clientName: "authchart e2e", redirectUris: [redirectUri] },
        userAgent,
      });
    // A plain function cannot bind a port before the request names it.
    await expect(create(ephemeral, async () => "")).rejects.toMatchObject({
      _tag: "InvalidClientConfiguration",
    });
    // RFC 8252 §7.3's any-port rule is for loopback IP literals only.
    await expect(
      create("http://localhost:0/callback", nodeUserAgent({ output: quiet() })),
    ).rejects.toMatchObject({ _tag: "InvalidClientConfiguration" });
  });
});
