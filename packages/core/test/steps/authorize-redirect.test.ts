/**
 * The redirect endpoint prepared before the authorization request exists (RFC 8252 §7.3): an
 * ephemeral-port loopback URI is registered without a port, the user agent binds one first, and
 * the authorization request and the token request carry that same port (RFC 6749 §4.1.3) —
 * against the real authorization server (oidc-provider allows any loopback port for native
 * clients). The prepared endpoint is closed on every path.
 */
import { startTestkit, type Testkit } from "@authchart/testkit";
import { describe, expect, it } from "@effect/vitest";
import { Effect, Fiber, Layer } from "effect";
import { afterAll, beforeAll } from "vitest";
import { CredentialStore } from "../../src/services/credential-store.js";
import { OAuthHttp } from "../../src/services/http.js";
import { Randomness } from "../../src/services/randomness.js";
import { type BindFirstUserAgent, UserAgent } from "../../src/services/user-agent.js";
import { authorize } from "../../src/steps/authorize.js";
import { discoverAuthServer } from "../../src/steps/discover-auth-server.js";
import { register } from "../../src/steps/register.js";
import { exchangeCode } from "../../src/steps/tokens.js";
import { failureOf } from "../support.js";

const ephemeral = "http://127.0.0.1:0/callback";

/** What the test's user agent did, in order. */
interface Journal {
  readonly events: string[];
  readonly urls: string[];
}

/**
 * A bind-first user agent whose "receiver" is the headless user: `bound` says which URI it
 * claims to have bound, `answer` turns the authorization URL into the callback URL.
 */
const bindFirst = (
  journal: Journal,
  options: {
    readonly bound: (redirectUri: string) => string;
    readonly answer: (url: string) => Promise<string>;
  },
): BindFirstUserAgent => ({
  prepare: async (redirectUri) => {
    const bound = options.bound(redirectUri);
    journal.events.push(`prepare ${redirectUri} -> ${bound}`);
    return {
      redirectUri: bound,
      authorize: async (url) => {
        journal.events.push("authorize");
        journal.urls.push(url);
        return options.answer(url);
      },
      close: async () => {
        journal.events.push("close");
      },
    };
  },
});

const layerWith = (agent: Parameters<typeof UserAgent.fromPromise>[0]) =>
  Layer.mergeAll(
    OAuthHttp.layerFetch({ allowInsecureLoopback: true }),
    CredentialStore.layerMemory,
    Randomness.layer,
    UserAgent.fromPromise(agent),
  );

const withPort = (uri: string, port: number) => {
  const url = new URL(uri);
  url.port = String(port);
  return url.href;
};

describe("an ephemeral-port redirect URI against the real authorization server", () => {
  let kit: Testkit;
  beforeAll(async () => {
    kit = await startTestkit();
  });
  afterAll(() => kit.close());

  const flow = (redirectUri: string) =>
    Effect.gen(function* () {
      const as = yield* discoverAuthServer(kit.issuer);
      const { client } = yield* register({
        issuer: as.issuer,
        metadata: as.metadata,
        settings: { clientName: "authchart tests", redirectUris: [redirectUri] },
        scopes: ["mcp:read"],
      });
      const grant = yield* authorize({
        issuer: as.issuer,
        metadata: as.metadata,
        client,
        redirectUri,
        resource: kit.mcpUrl,
        scopes: ["mcp:read"],
      });
      return { as, client, grant };
    });

  it.live("registered without a port; the request and the token request carry the bound port", () =>
    Effect.gen(function* () {
      const journal: Journal = { events: [], urls: [] };
      const agent = bindFirst(journal, {
        bound: (uri) => withPort(uri, 45_871),
        answer: (url) => kit.user.authorize(url),
      });
      const { as, client, grant, tokens } = yield* Effect.gen(function* () {
        const obtained = yield* flow(ephemeral);
        // oidc-provider refuses a token request whose redirect_uri differs from the request's.
        const tokens = yield* exchangeCode({
          issuer: obtained.as.issuer,
          metadata: obtained.as.metadata,
          client: obtained.client,
          grant: obtained.grant,
        });
        return { ...obtained, tokens };
      }).pipe(Effect.provide(layerWith(agent)));
      expect(as.issuer).toBe(kit.issuer);
      // RFC 8252 §7.3: the registration names no port; the AS echoes what it registered.
      expect(client.redirectUris).toEqual(["http://127.0.0.1/callback"]);
      // Bound before the URL existed, closed after the callback.
      expect(journal.events).toEqual([
        `prepare ${ephemeral} -> http://127.0.0.1:45871/callback`,
        "authorize",
        "close",
      ]);
      const sent = new URL(journal.urls[0] ?? "").searchParams.get("redirect_uri");
      expect(sent).toBe("http://127.0.0.1:45871/callback");
      expect(grant.redirectUri).toBe("http://127.0.0.1:45871/callback");
      expect(tokens.scopes).toContain("mcp:read");
    }),
  );

  it.live("two authorizations bind distinct ports; both codes redeem with their own", () =>
    Effect.gen(function* () {
      const journal: Journal = { events: [], urls: [] };
      let port = 46_000;
      const agent = bindFirst(journal, {
        bound: (uri) => withPort(uri, ++port),
        answer: (url) => kit.user.authorize(url),
      });
      const uris = yield* Effect.gen(function* () {
        // One after the other: the headless user has one cookie jar (one browser).
        const results = [yield* flow(ephemeral), yield* flow(ephemeral)];
        for (const { as, client, grant } of results) {
          yield* exchangeCode({ issuer: as.issuer, metadata: as.metadata, client, grant });
        }
        return results.map((r) => r.grant.redirectUri);
      }).pipe(Effect.provide(layerWith(agent)));
      expect(new Set(uris).size).toBe(2);
    }),
  );

  it.live("a fixed port is used exactly as registered", () =>
    Effect.gen(function* () {
      const journal: Journal = { events: [], urls: [] };
      const fixed = "http://127.0.0.1:33419/callback";
      const agent = bindFirst(journal, {
        bound: (uri) => uri,
        answer: (u) => kit.user.authorize(u),
      });
      const { client, grant } = yield* flow(fixed).pipe(Effect.provide(layerWith(agent)));
      expect(client.redirectUris).toEqual([fixed]);
      expect(grant.redirectUri).toBe(fixed);
      expect(new URL(journal.urls[0] ?? "").searchParams.get("redirect_uri")).toBe(fixed);
    }),
  );
});

describe("what the prepared endpoint may be, and what may arrive at it", () => {
  const metadata = {
    issuer: "https://as.example",
    authorization_endpoint: "https://as.example/authorize",
    token_endpoint: "https://as.example/token",
    code_challenge_methods_supported: ["S256"],
  };
  const client = {
    issuer: "https://as.example",
    kind: "pre-registered" as const,
    clientId: "c1",
    redirectUris: [],
    registeredAt: 0,
  };
  const run = (redirectUri: string, agent: Parameters<typeof UserAgent.fromPromise>[0]) =>
    authorize({
      issuer: "https://as.example",
      metadata,
      client,
      redirectUri,
      resource: "https://mcp.example/mcp",
      scopes: [],
    }).pipe(Effect.provide(layerWith(agent)));
  /** The callback the AS would send to `redirectUri` for the request `url`. */
  const callbackFor = (url: string, redirectUri: string) => {
    const state = new URL(url).searchParams.get("state") ?? "";
    return `${redirectUri}?code=c&state=${state}&iss=${encodeURIComponent("https://as.example")}`;
  };

  for (const [name, configured, bound] of [
    [
      "a port for a fixed-port URI",
      "http://127.0.0.1:33418/callback",
      "http://127.0.0.1:4000/callback",
    ],
    ["another path", ephemeral, "http://127.0.0.1:4000/other"],
    ["another host", ephemeral, "http://127.0.0.2:4000/callback"],
    ["localhost for an IP literal", ephemeral, "http://localhost:4000/callback"],
    ["port 0 itself", "http://[::1]:0/cb", "http://[::1]:0/cb"],
  ] as const) {
    it.live(`a user agent that prepares ${name} is refused before anything is opened; closed`, () =>
      Effect.gen(function* () {
        const journal: Journal = { events: [], urls: [] };
        const agent = bindFirst(journal, { bound: () => bound, answer: async () => "" });
        const error = yield* failureOf(run(configured, agent));
        expect(error).toMatchObject({ _tag: "UserAgentFailed" });
        expect(journal.events).toEqual([`prepare ${configured} -> ${bound}`, "close"]);
      }),
    );
  }

  it.live(
    "a callback at another port than the one bound is refused (InvalidCallback); closed",
    () =>
      Effect.gen(function* () {
        const journal: Journal = { events: [], urls: [] };
        const agent = bindFirst(journal, {
          bound: (uri) => withPort(uri, 41_000),
          answer: async (url) => callbackFor(url, "http://127.0.0.1:41001/callback"),
        });
        const error = yield* failureOf(run(ephemeral, agent));
        expect(error).toMatchObject({ _tag: "InvalidCallback" });
        expect(journal.events.at(-1)).toBe("close");
      }),
  );

  it.live("the bound port's callback is accepted", () =>
    Effect.gen(function* () {
      const journal: Journal = { events: [], urls: [] };
      const agent = bindFirst(journal, {
        bound: (uri) => withPort(uri, 41_002),
        answer: async (url) => callbackFor(url, "http://127.0.0.1:41002/callback"),
      });
      const grant = yield* run(ephemeral, agent);
      expect(grant.redirectUri).toBe("http://127.0.0.1:41002/callback");
    }),
  );

  it.live("the endpoint is closed when the flow is interrupted while the browser step waits", () =>
    Effect.gen(function* () {
      const journal: Journal = { events: [], urls: [] };
      let started!: () => void;
      const waiting = new Promise<void>((resolve) => {
        started = resolve;
      });
      const agent = bindFirst(journal, {
        bound: (uri) => withPort(uri, 41_003),
        answer: () => {
          started();
          return new Promise<string>(() => {});
        },
      });
      const fiber = yield* Effect.fork(run(ephemeral, agent));
      yield* Effect.promise(() => waiting);
      yield* Fiber.interrupt(fiber);
      expect(journal.events).toEqual([
        `prepare ${ephemeral} -> http://127.0.0.1:41003/callback`,
        "authorize",
        "close",
      ]);
    }),
  );

  it.live("a plain function cannot serve an ephemeral port: UserAgentFailed, nothing opened", () =>
    Effect.gen(function* () {
      let opened = 0;
      const error = yield* failureOf(
        run(ephemeral, async () => {
          opened++;
          return "";
        }),
      );
      expect(error).toMatchObject({ _tag: "UserAgentFailed" });
      expect((error as Error).message).toContain("prepare()");
      expect(opened).toBe(0);
    }),
  );
});
