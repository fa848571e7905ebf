/** A session restored from a seeded memory store, over a fetch that records what it is handed. */
import { Effect, Redacted, Schema } from "effect";
import { createSession } from "../../src/index.js";
import { PersistedSession } from "../../src/internals.js";
import {
  CredentialStore,
  type CredentialStoreService,
} from "../../src/services/credential-store.js";
import { makeOver } from "../../src/services/dpop.js";

export const serverUrl = "http://127.0.0.1:9/mcp";
export const redirectUri = "http://127.0.0.1:33418/callback";

export interface Seen {
  url: string;
  method: string;
  /** As fetch (undici) would read init.headers. */
  headers: Record<string, string>;
  /** init.headers itself, as handed to fetch. */
  raw: unknown;
  /** Own keys of a plain-record init.headers. */
  rawKeys: string[];
  init: RequestInit;
}

export const redirect = (status: number, location: string) =>
  new Response(null, { status, headers: { location } });

export interface SeedOptions {
  token?: string;
  tokenType?: string;
  /** No token stored at all. */
  noToken?: boolean;
  url?: string;
  fetch?: typeof globalThis.fetch;
}

export const seeded = async (
  routes: (url: string, init: RequestInit) => Response | Promise<Response>,
  opts: SeedOptions = {},
) => {
  const url = opts.url ?? serverUrl;
  const store: CredentialStoreService = Effect.runSync(
    Effect.provide(CredentialStore, CredentialStore.layerMemory),
  );
  const now = Date.now();
  const key = { resource: url, issuer: "https://as.example", clientId: "client-1" };
  const tokenType = opts.tokenType ?? "Bearer";
  if (!opts.noToken) {
    await Effect.runPromise(
      store.saveTokens({
        key,
        accessToken: Redacted.make(opts.token ?? "tok-1"),
        tokenType,
        scopes: [],
        obtainedAt: now,
        version: 1,
        expiresAt: now + 3_600_000,
      }),
    );
    if (tokenType.toLowerCase() === "dpop") {
      await Effect.runPromise(
        makeOver(store).proof({
          key,
          server: "authorization-server",
          method: "POST",
          url: "https://as.example/token",
          create: true,
        }),
      );
    }
    const persisted = Schema.encodeSync(PersistedSession)({
      format: 1,
      serverUrl: url,
      savedAt: now,
      token: {
        ...key,
        version: 1,
        scopes: [],
        expiresAt: now + 3_600_000,
        hasRefreshToken: false,
        obtainedAt: now,
        obtainedBy: "authorization",
      },
    });
    await Effect.runPromise(store.saveSession(url, JSON.stringify(persisted)));
  }
  const seen: Seen[] = [];
  const session = await createSession({
    serverUrl: url,
    store,
    client: { clientName: "t", redirectUris: [redirectUri] },
    interaction: "never",
    fetch:
      opts.fetch ??
      (async (input, init) => {
        const u = String(input instanceof Request ? input.url : input);
        const headers: Record<string, string> = {};
        new Headers(
          init?.headers ?? (input instanceof Request ? input.headers : undefined),
        ).forEach((v, k) => {
          headers[k] = v;
        });
        const raw = init?.headers;
        const rawKeys =
          raw !== undefined && !(raw instanceof Headers) && !Array.isArray(raw)
            ? Reflect.ownKeys(raw as object).map(String)
            : [];
        seen.push({
          url: u,
          method: init?.method ?? "GET",
          headers,
          raw,
          rawKeys,
          init: { ...init },
        });
        return routes(u, init ?? {});
      }),
  });
  return { session, seen, store, key };
};
