/**
 * The DPoP service (RFC 9449): what a proof contains, the key per token set (made once, stored
 * Redacted, restored non-extractable), nonces per server and origin, the resource request
 * headers — and that no private key material leaves the store's own entry.
 */
import { inspect } from "node:util";
import { describe, expect, it } from "@effect/vitest";
import { Effect, Either, Option, Redacted } from "effect";
import { DpopBindingMismatch, DpopKeyFailed } from "../../src/errors.js";
import { type DpopAlgorithm, dpopAlgorithms } from "../../src/protocol/dpop.js";
import type { TokenSet } from "../../src/schema/credentials.js";
import { CredentialStore, dpopKeyStoreKey } from "../../src/services/credential-store.js";
import { DPoP, importKeyPair, signDpopProof } from "../../src/services/dpop.js";
import {
  decodeJwt,
  jwkThumbprint,
  privateKeyMaterial,
  proofSignatureVerifies,
  recordingStore,
  sha256Base64Url,
} from "../dpop-support.js";

const key = { resource: "https://mcp.example/mcp", issuer: "https://as.example", clientId: "c1" };
const otherKey = { ...key, clientId: "c2" };

const tokenSet = (tokenType: string, overrides: Partial<TokenSet> = {}): TokenSet => ({
  key,
  accessToken: Redacted.make("access-token-value-0123456789"),
  tokenType,
  scopes: [],
  obtainedAt: 0,
  version: 1,
  ...overrides,
});

const publicMembers: Record<string, string[]> = {
  EC: ["crv", "kty", "x", "y"],
  OKP: ["crv", "kty", "x"],
  RSA: ["e", "kty", "n"],
};

describe("RFC 9449 §4.2: the proof", () => {
  it.live.each<DpopAlgorithm>(dpopAlgorithms)(
    "%s: typ dpop+jwt, alg, a public jwk only; htm, htu without query, iat, jti, ath, nonce",
    (alg) =>
      Effect.gen(function* () {
        const dpop = yield* DPoP;
        const token = Redacted.make("the-access-token");
        const before = Math.floor(Date.now() / 1000);
        const proof = yield* dpop.proof({
          key,
          server: "resource-server",
          method: "post",
          url: "https://mcp.example/mcp?session=1#fragment",
          accessToken: token,
          nonce: "server-nonce",
          alg,
        });
        const { header, payload } = decodeJwt(proof.jwt);
        expect(header.typ).toBe("dpop+jwt");
        expect(header.alg).toBe(alg);
        const jwk = header.jwk as Record<string, unknown>;
        expect(Object.keys(jwk).sort()).toEqual(publicMembers[String(jwk.kty)]);
        expect(Object.keys(payload).sort()).toEqual(["ath", "htm", "htu", "iat", "jti", "nonce"]);
        expect(payload).toMatchObject({
          htm: "POST",
          htu: "https://mcp.example/mcp",
          nonce: "server-nonce",
          ath: yield* Effect.promise(() => sha256Base64Url("the-access-token")),
        });
        expect(payload.iat).toBeGreaterThanOrEqual(before);
        expect(payload.iat).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
        expect(String(payload.jti).length).toBeGreaterThanOrEqual(16);
        expect(proof.nonce).toBe("server-nonce");
        expect(yield* Effect.promise(() => proofSignatureVerifies(proof.jwt))).toBe(true);
      }).pipe(Effect.provide(recordingStore().withDpop())),
    30_000,
  );

  it.live(
    "a token request's proof: no ath, no nonce unless one is known; a fresh jti each time",
    () =>
      Effect.gen(function* () {
        const dpop = yield* DPoP;
        const request = {
          key,
          server: "authorization-server" as const,
          method: "POST",
          url: "https://as.example/token",
        };
        const first = decodeJwt((yield* dpop.proof(request)).jwt);
        const second = decodeJwt((yield* dpop.proof(request)).jwt);
        expect(Object.keys(first.payload).sort()).toEqual(["htm", "htu", "iat", "jti"]);
        expect(first.header.alg).toBe("ES256");
        expect(first.payload.jti).not.toBe(second.payload.jti);
        expect(first.header.jwk).toEqual(second.header.jwk);
      }).pipe(Effect.provide(recordingStore().withDpop())),
  );

  it.effect("a URL that is not absolute is a typed DpopKeyFailed", () =>
    Effect.gen(function* () {
      const pair = yield* Effect.promise(() =>
        crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]),
      );
      const error = yield* Effect.flip(
        signDpopProof(pair, "ES256", { method: "GET", url: "/relative" }),
      );
      expect(error).toBeInstanceOf(DpopKeyFailed);
    }),
  );
});

describe("RFC 9449 §5: one key per token set, kept in the store beside the tokens", () => {
  it.live("made once on first use, stored, and the same after a restart", () =>
    Effect.gen(function* () {
      const recording = recordingStore();
      const request = (k: typeof key) => ({
        key: k,
        server: "authorization-server" as const,
        method: "POST",
        url: "https://as.example/token",
      });
      const jwkOf = (proof: { readonly jwt: string }) =>
        decodeJwt(proof.jwt).header.jwk as Record<string, unknown>;
      const proofFor = (k: typeof key) => Effect.flatMap(DPoP, (dpop) => dpop.proof(request(k)));
      // Concurrent first uses make one key.
      const concurrent = yield* Effect.all([proofFor(key), proofFor(key), proofFor(key)], {
        concurrency: "unbounded",
      }).pipe(Effect.provide(recording.withDpop()));
      const a1 = jwkOf(concurrent[0]);
      expect(jwkOf(concurrent[1])).toEqual(a1);
      expect(jwkOf(concurrent[2])).toEqual(a1);
      expect(recording.writes).toBe(1);
      expect(recording.entries.has(dpopKeyStoreKey(key))).toBe(true);

      // Another token set, another key; a new service over the same store (a restart) reuses them.
      const restarted = recording.withDpop();
      const b = yield* proofFor(otherKey).pipe(Effect.provide(restarted));
      expect(jwkOf(b)).not.toEqual(a1);
      const again = yield* proofFor(key).pipe(Effect.provide(restarted));
      expect(jwkOf(again)).toEqual(a1);

      // RFC 9449 §6.1 jkt: the RFC 7638 thumbprint of the key the proofs carry.
      const jkt = yield* Effect.flatMap(DPoP, (dpop) => dpop.thumbprint(key)).pipe(
        Effect.provide(restarted),
      );
      expect(jkt).toEqual(Option.some(yield* Effect.promise(() => jwkThumbprint(a1))));
      const none = yield* Effect.flatMap(DPoP, (dpop) =>
        dpop.thumbprint({ ...key, clientId: "none" }),
      ).pipe(Effect.provide(restarted));
      expect(none).toEqual(Option.none());

      // Discarded: gone from the store; the next use makes a new key.
      yield* Effect.flatMap(DPoP, (dpop) => dpop.discardKey(key)).pipe(Effect.provide(restarted));
      expect(recording.entries.has(dpopKeyStoreKey(key))).toBe(false);
      const fresh = yield* proofFor(key).pipe(Effect.provide(restarted));
      expect(jwkOf(fresh)).not.toEqual(a1);
    }),
  );

  it.live("the private key is Redacted in memory and imported non-extractable", () =>
    Effect.gen(function* () {
      const recording = recordingStore();
      yield* Effect.flatMap(DPoP, (dpop) =>
        dpop.proof({ key, server: "authorization-server", method: "POST", url: "https://a/t" }),
      ).pipe(Effect.provide(recording.withDpop()));
      const raw = recording.entries.get(dpopKeyStoreKey(key)) ?? "";
      const secrets = privateKeyMaterial(raw);
      expect(secrets.length).toBeGreaterThan(0);
      const stored = Option.getOrThrow(yield* recording.store.loadDpopKey(key));
      expect(Redacted.isRedacted(stored.privateJwk)).toBe(true);
      for (const shown of [
        JSON.stringify(stored),
        String(stored.privateJwk),
        inspect(stored, { depth: 10 }),
      ]) {
        for (const secret of secrets) expect(shown).not.toContain(secret);
      }
      const pair = yield* importKeyPair(stored);
      expect(pair.privateKey.extractable).toBe(false);
      expect(pair.publicKey.extractable).toBe(true);
      const exported = yield* Effect.either(
        Effect.tryPromise(() => crypto.subtle.exportKey("jwk", pair.privateKey)),
      );
      expect(Either.isLeft(exported)).toBe(true);
    }),
  );

  it.live("no private key material in the store's other entries, in errors or in results", () =>
    Effect.gen(function* () {
      const recording = recordingStore();
      const layer = recording.withDpop();
      const dpop = yield* DPoP.pipe(Effect.provide(layer));
      const proof = yield* dpop.proof({
        key,
        server: "authorization-server",
        method: "POST",
        url: "https://as.example/token",
      });
      const tokens = tokenSet("DPoP");
      yield* recording.store.saveTokens(tokens);
      const headers = yield* dpop.resourceRequestHeaders({
        tokens,
        method: "GET",
        url: "https://mcp.example/mcp",
      });
      const secrets = privateKeyMaterial(recording.entries.get(dpopKeyStoreKey(key)) ?? "");
      // Errors: a stored key that no longer imports; a token type that contradicts the request.
      recording.entries.set(
        dpopKeyStoreKey(otherKey),
        JSON.stringify({
          key: otherKey,
          alg: "ES256",
          privateJwk: { kty: "EC", crv: "P-384", d: secrets[0], x: "AA", y: "AA" },
          createdAt: 0,
        }),
      );
      const broken = yield* Effect.flip(
        dpop.proof({ key: otherKey, server: "resource-server", method: "GET", url: "https://r/" }),
      );
      expect(broken).toBeInstanceOf(DpopKeyFailed);
      const mismatch = new DpopBindingMismatch({ grantType: "refresh_token", received: "DPoP" });
      const shown = [
        ...[...recording.entries]
          .filter(([k]) => !k.startsWith("authchart/dpop-key/"))
          .map(([, v]) => v),
        proof.jwt,
        JSON.stringify(proof),
        JSON.stringify(headers),
        String(headers.authorization),
        broken.message,
        JSON.stringify(broken),
        String(broken),
        mismatch.message,
        inspect(dpop, { depth: 10 }),
      ];
      expect(secrets.length).toBeGreaterThan(0);
      for (const text of shown) for (const secret of secrets) expect(text).not.toContain(secret);
      // Nor the access token, outside the Redacted header value.
      expect(JSON.stringify(headers)).not.toContain("access-token-value");
    }),
  );
});

describe("RFC 9449 §8, §9: nonces per server and origin", () => {
  it.live("remembered from any answer, kept apart per server, invalid ones ignored", () =>
    Effect.gen(function* () {
      const dpop = yield* DPoP;
      const as = "https://shared.example/token";
      const rs = "https://shared.example/mcp";
      expect(yield* dpop.rememberNonce("authorization-server", as, "as-1")).toEqual(
        Option.some("as-1"),
      );
      expect(yield* dpop.nonce("resource-server", rs)).toEqual(Option.none());
      expect(yield* dpop.nonce("authorization-server", "https://shared.example/other")).toEqual(
        Option.some("as-1"),
      );
      expect(yield* dpop.rememberNonce("authorization-server", as, 'bad "nonce"')).toEqual(
        Option.none(),
      );
      expect(yield* dpop.rememberNonce("authorization-server", as, null)).toEqual(Option.none());
      expect(yield* dpop.nonce("authorization-server", as)).toEqual(Option.some("as-1"));
      yield* dpop.rememberNonce("resource-server", rs, "rs-1");
      const request = { key, method: "POST", url: as };
      const toAs = decodeJwt(
        (yield* dpop.proof({ ...request, server: "authorization-server" })).jwt,
      );
      const toRs = decodeJwt((yield* dpop.proof({ ...request, server: "resource-server" })).jwt);
      expect(toAs.payload.nonce).toBe("as-1");
      expect(toRs.payload.nonce).toBe("rs-1");
      const given = yield* dpop.proof({ ...request, server: "resource-server", nonce: "given" });
      expect(decodeJwt(given.jwt).payload.nonce).toBe("given");
      expect(yield* dpop.nonce("resource-server", "https://other.example/mcp")).toEqual(
        Option.none(),
      );
    }).pipe(Effect.provide(recordingStore().withDpop())),
  );
});

describe("RFC 9449 §7.1: the resource request headers", () => {
  it.live("DPoP token: `DPoP <token>` and a proof with ath; Bearer token: Bearer only", () =>
    Effect.gen(function* () {
      const dpop = yield* DPoP;
      const store = yield* CredentialStore;
      // Made by a token request first (the key is never made for a resource request).
      yield* dpop.proof({
        key,
        server: "authorization-server",
        method: "POST",
        url: "https://a/t",
      });
      yield* dpop.rememberNonce("resource-server", "https://mcp.example/x", "rs-nonce");
      const headers = yield* dpop.resourceRequestHeaders({
        tokens: tokenSet("DPoP"),
        method: "POST",
        url: "https://mcp.example/mcp?x=1",
      });
      expect(Redacted.value(headers.authorization)).toBe("DPoP access-token-value-0123456789");
      const { payload } = decodeJwt(headers.dpop ?? "");
      expect(payload).toMatchObject({
        htm: "POST",
        htu: "https://mcp.example/mcp",
        nonce: "rs-nonce",
        ath: yield* Effect.promise(() => sha256Base64Url("access-token-value-0123456789")),
      });
      const bearer = yield* dpop.resourceRequestHeaders({
        tokens: tokenSet("Bearer"),
        method: "GET",
        url: "https://mcp.example/mcp",
      });
      expect(Redacted.value(bearer.authorization)).toBe("Bearer access-token-value-0123456789");
      expect(bearer.dpop).toBeUndefined();
      // A DPoP token set without a stored key: refused, and no key is made for it.
      const orphan = yield* Effect.flip(
        dpop.resourceRequestHeaders({
          tokens: tokenSet("dpop", { key: otherKey }),
          method: "GET",
          url: "https://mcp.example/mcp",
        }),
      );
      expect(orphan).toMatchObject({ _tag: "DpopKeyFailed", operation: "import" });
      expect(yield* store.loadDpopKey(otherKey)).toEqual(Option.none());
    }).pipe(Effect.provide(recordingStore().withDpop())),
  );
});
