/** Registration (SPEC R1-R12) against the real authorization server and scripted ones. */

import {
  type ScriptedServer,
  startScriptedServer,
  startTestkit,
  type Testkit,
} from "@authchart/testkit";
import { describe, expect, it } from "@effect/vitest";
import { Effect, Option, Redacted } from "effect";
import { afterAll, beforeAll } from "vitest";
import { CredentialStore } from "../../src/services/credential-store.js";
import { discoverAuthServer } from "../../src/steps/discover-auth-server.js";
import {
  clientMetadataUrlProblem,
  defaultApplicationType,
  register,
} from "../../src/steps/register.js";
import { asMetadata, failureOf, json, settings, stepLayer } from "../support.js";

const layer = stepLayer();

describe("dynamic registration against the real authorization server", () => {
  let strict: Testkit;
  beforeAll(async () => {
    strict = await startTestkit({ authServer: { requireScopeOnRegistration: true } });
  });
  afterAll(() => strict.close());

  it.live("R8/R12: sends scope, application_type native, the grants; stores the client", () =>
    Effect.gen(function* () {
      const as = yield* discoverAuthServer(strict.issuer);
      const { client, via } = yield* register({
        issuer: as.issuer,
        metadata: as.metadata,
        settings,
        scopes: ["mcp:read"],
      });
      expect(via).toBe("dynamic");
      expect(client).toMatchObject({
        kind: "dynamic",
        issuer: strict.issuer,
        tokenEndpointAuthMethod: "none",
        scope: "mcp:read",
      });
      const store = yield* CredentialStore;
      expect(Option.getOrThrow(yield* store.loadClient(strict.issuer)).clientId).toBe(
        client.clientId,
      );
      // A second call reuses the stored client: no second registration request.
      const again = yield* register({
        issuer: as.issuer,
        metadata: as.metadata,
        settings,
        scopes: ["mcp:read"],
      });
      expect(again.via).toBe("store");
      expect(strict.count("registration")).toBe(1);
    }).pipe(Effect.provide(layer)),
  );

  it.live(
    "a server that requires scope refuses a registration without one -> RegistrationRejected",
    () =>
      Effect.gen(function* () {
        const as = yield* discoverAuthServer(strict.issuer);
        const error = yield* failureOf(
          register({ issuer: as.issuer, metadata: as.metadata, settings, scopes: [] }),
        );
        expect(error).toMatchObject({
          _tag: "RegistrationRejected",
          status: 400,
          error: "invalid_client_metadata",
        });
      }).pipe(Effect.provide(stepLayer())),
  );

  it.live("T2: a confidential client gets a secret that stays redacted", () =>
    Effect.gen(function* () {
      const as = yield* discoverAuthServer(strict.issuer);
      const { client } = yield* register({
        issuer: as.issuer,
        metadata: as.metadata,
        settings: { ...settings, tokenEndpointAuthMethod: "client_secret_post" },
        scopes: ["mcp:read"],
      });
      expect(client.tokenEndpointAuthMethod).toBe("client_secret_post");
      expect(client.clientSecret && Redacted.isRedacted(client.clientSecret)).toBe(true);
      expect(JSON.stringify(client)).not.toContain(
        Redacted.value(client.clientSecret ?? Redacted.make("")),
      );
    }).pipe(Effect.provide(stepLayer())),
  );
});

describe("registration order (SPEC R1)", () => {
  let server: ScriptedServer;
  beforeAll(async () => {
    server = await startScriptedServer();
  });
  afterAll(() => server.close());

  it.live("1. pre-registered credentials for this issuer win; nothing is sent", () =>
    Effect.gen(function* () {
      const metadata = {
        ...asMetadata(server.origin),
        client_id_metadata_document_supported: true,
      };
      const { client, via } = yield* register({
        issuer: server.origin,
        metadata,
        settings: {
          ...settings,
          clientMetadataUrl: "https://client.example/metadata.json",
          preRegistered: [
            { issuer: "https://another.example", clientId: "wrong" },
            {
              issuer: server.origin,
              clientId: "static-client",
              clientSecret: Redacted.make("s3cret"),
            },
          ],
        },
        scopes: [],
      });
      expect(via).toBe("pre-registered");
      expect(client.clientId).toBe("static-client");
      expect(server.requests).toHaveLength(0);
    }).pipe(Effect.provide(layer)),
  );

  it.live("2. a client-ID metadata document when the server supports it", () =>
    Effect.gen(function* () {
      const metadata = {
        ...asMetadata(server.origin),
        client_id_metadata_document_supported: true,
      };
      const { client, via } = yield* register({
        issuer: server.origin,
        metadata,
        settings: { ...settings, clientMetadataUrl: "https://client.example/metadata.json" },
        scopes: [],
      });
      expect(via).toBe("client-id-metadata-document");
      expect(client).toMatchObject({
        clientId: "https://client.example/metadata.json",
        tokenEndpointAuthMethod: "none",
      });
    }).pipe(Effect.provide(layer)),
  );

  it.live(
    "3. dynamic registration when CIMD is not advertised; 4. nothing -> RegistrationUnavailable",
    () =>
      Effect.gen(function* () {
        const { registration_endpoint: _, ...noRegistration } = asMetadata(server.origin);
        const error = yield* failureOf(
          register({
            issuer: server.origin,
            metadata: noRegistration,
            settings: { ...settings, clientMetadataUrl: "https://client.example/m" },
            scopes: [],
          }),
        );
        expect(error._tag).toBe("RegistrationUnavailable");
      }).pipe(Effect.provide(layer)),
  );

  it.live("R9: a registration answered with garbage or an error is typed", () =>
    Effect.gen(function* () {
      const metadata = asMetadata(server.origin);
      server.route("/register", json({ client_secret: "x" }, 201));
      expect(
        yield* failureOf(register({ issuer: server.origin, metadata, settings, scopes: [] })),
      ).toMatchObject({
        _tag: "InvalidDocument",
        issues: ["client_id is missing"],
      });
      server.route(
        "/register",
        json({ error: "invalid_redirect_uri", error_description: "no loopback" }, 400),
      );
      expect(
        yield* failureOf(register({ issuer: server.origin, metadata, settings, scopes: [] })),
      ).toMatchObject({
        _tag: "RegistrationRejected",
        error: "invalid_redirect_uri",
        errorDescription: "no loopback",
      });
      server.route("/register", {
        status: 401,
        headers: { "content-type": "text/plain" },
        body: "initial access token required",
      });
      expect(
        yield* failureOf(register({ issuer: server.origin, metadata, settings, scopes: [] })),
      ).toMatchObject({
        _tag: "RegistrationRejected",
        status: 401,
      });
    }).pipe(Effect.provide(layer)),
  );

  it.live("R11: a stored client whose secret expired is registered again", () =>
    Effect.gen(function* () {
      const metadata = asMetadata(server.origin);
      let n = 0;
      server.route("/register", () =>
        json(
          {
            client_id: `c${++n}`,
            client_secret: "s",
            client_secret_expires_at: Math.floor(Date.now() / 1000) + 1,
          },
          201,
        ),
      );
      const first = yield* register({ issuer: server.origin, metadata, settings, scopes: [] });
      yield* Effect.sleep("1100 millis");
      const second = yield* register({ issuer: server.origin, metadata, settings, scopes: [] });
      expect([first.client.clientId, second.client.clientId, second.via]).toEqual([
        "c1",
        "c2",
        "dynamic",
      ]);
    }).pipe(Effect.provide(stepLayer())),
  );
  it.live(
    "RFC 7591 §3.2.1: a registration whose secret is already expired is refused, not stored",
    () =>
      Effect.gen(function* () {
        const metadata = asMetadata(server.origin);
        server.route("/register", () =>
          json({ client_id: "c", client_secret: "s", client_secret_expires_at: 1 }, 201),
        );
        const error = yield* failureOf(
          register({ issuer: server.origin, metadata, settings, scopes: [] }),
        );
        expect(error).toMatchObject({ _tag: "ClientSecretExpired", expiredAt: 1 });
        const stored = yield* (yield* CredentialStore).loadClient(server.origin);
        expect(Option.isNone(stored)).toBe(true);
      }).pipe(Effect.provide(stepLayer())),
  );
});

describe("pure helpers", () => {
  it.each([
    ["https://client.example/metadata.json", undefined],
    ["http://client.example/metadata.json", "clientMetadataUrl must use https"],
    ["https://client.example", "clientMetadataUrl must have a path"],
    ["https://user:pw@client.example/m", "clientMetadataUrl must not carry userinfo"],
    ["https://client.example/m#frag", "clientMetadataUrl must not have a fragment"],
    ["https://client.example/a/../m", "clientMetadataUrl must not contain . or .. segments"],
  ])("R4 %s", (url, problem) => {
    expect(clientMetadataUrlProblem(url)).toBe(problem);
  });
  it("R12: native for loopback redirect URIs, web otherwise", () => {
    expect(defaultApplicationType(["http://127.0.0.1:1234/cb", "http://[::1]:1234/cb"])).toBe(
      "native",
    );
    expect(defaultApplicationType(["https://app.example/cb"])).toBe("web");
  });
});
