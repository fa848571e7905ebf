/** private_key_jwt client authentication (RFC 7523 §2.2, SPEC T2, R6) against a scripted token endpoint. */

import { startScriptedServer } from "@authchart/testkit";
import { describe, expect, it } from "@effect/vitest";
import { Effect, Redacted } from "effect";
import type { ClientRegistration } from "../../src/schema/credentials.js";
import { refresh } from "../../src/steps/tokens.js";
import { asMetadata, failureOf, json, stepLayer } from "../support.js";

const decodeSegment = (segment: string | undefined) =>
  JSON.parse(Buffer.from(segment ?? "", "base64url").toString()) as Record<string, unknown>;

describe("private_key_jwt", () => {
  it.live(
    "signs a client assertion: iss = sub = client_id, aud = the issuer, one method only",
    () =>
      Effect.gen(function* () {
        const server = yield* Effect.promise(() => startScriptedServer());
        let body = new URLSearchParams();
        let authorization: unknown;
        server.route("/token", (req) => {
          body = new URLSearchParams(req.body);
          authorization = req.headers.authorization;
          return json({ access_token: "a", token_type: "Bearer" });
        });
        const keys = yield* Effect.promise(() =>
          crypto.subtle.generateKey(
            {
              name: "RSASSA-PKCS1-v1_5",
              modulusLength: 2048,
              publicExponent: new Uint8Array([1, 0, 1]),
              hash: "SHA-256",
            },
            false,
            ["sign", "verify"],
          ),
        );
        const client: ClientRegistration = {
          issuer: server.origin,
          kind: "pre-registered",
          clientId: "jwt-client",
          tokenEndpointAuthMethod: "private_key_jwt",
          redirectUris: [],
          registeredAt: 0,
        };
        const tokens = {
          key: {
            resource: "https://mcp.example/mcp",
            issuer: server.origin,
            clientId: "jwt-client",
          },
          accessToken: Redacted.make("x"),
          tokenType: "Bearer",
          refreshToken: Redacted.make("r"),
          scopes: [],
          obtainedAt: 0,
          version: 1,
        };
        yield* refresh({
          issuer: server.origin,
          metadata: asMetadata(server.origin),
          client,
          tokens,
          signingKey: { key: keys.privateKey, kid: "k1" },
        });
        expect(body.get("client_assertion_type")).toBe(
          "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        );
        const [header, payload] = (body.get("client_assertion") ?? "").split(".");
        expect(decodeSegment(header)).toMatchObject({ alg: "RS256", kid: "k1" });
        expect(decodeSegment(payload)).toMatchObject({
          iss: "jwt-client",
          sub: "jwt-client",
          aud: server.origin,
        });
        expect(authorization).toBeUndefined();
        expect(body.has("client_secret")).toBe(false);

        // Without a key the method cannot be used: a typed configuration error, no request.
        const before = server.requests.length;
        const error = yield* failureOf(
          refresh({ issuer: server.origin, metadata: asMetadata(server.origin), client, tokens }),
        );
        expect(error).toMatchObject({
          _tag: "InvalidClientConfiguration",
          reason: "private_key_jwt needs a signing key",
        });
        expect(server.requests.length).toBe(before);
        yield* Effect.promise(() => server.close());
      }).pipe(Effect.provide(stepLayer())),
  );
});
