/**
 * Hostile authorization-server metadata (RFC 8414): mismatched issuers, no PKCE, dangerous
 * endpoint schemes, bodies that are not metadata, redirects, outages.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  deepArray,
  disposeWorlds,
  expectNoRequestsDuring,
  html,
  json,
  rawJson,
  requestsTo,
  startWorld,
  tenMegabytesStreamed,
} from "./harness.js";

afterEach(disposeWorlds);

const asPath = "/.well-known/oauth-authorization-server";

describe("hostile authorization-server metadata", () => {
  it("the metadata claims another issuer: typed IssuerMismatch, no registration", async () => {
    const w = await startWorld({ asMetadata: { issuer: "https://evil.example" } });
    const out = await w.call();
    await w.check(out, {
      maxRequests: 8,
      expect: { tag: ["IssuerMismatch", "AuthServerMetadataNotFound"] },
    });
    expect(w.counters.registrations).toBe(0);
  });

  it("no code_challenge_methods_supported: typed PkceUnsupported, the user is never prompted", async () => {
    const w = await startWorld({ asMetadata: { code_challenge_methods_supported: undefined } });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "PkceUnsupported" } });
    expect(w.counters.authorizations).toBe(0);
  });

  it("only the plain PKCE method: typed PkceUnsupported", async () => {
    const w = await startWorld({ asMetadata: { code_challenge_methods_supported: ["plain"] } });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "PkceUnsupported" } });
    expect(w.counters.authorizations).toBe(0);
  });

  it("a javascript: authorization_endpoint: typed error, the user agent never gets it", async () => {
    const w = await startWorld({ asMetadata: { authorization_endpoint: "javascript:alert(1)" } });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: ["InsecureUrl", "InvalidDocument"] } });
    expect(w.counters.authorizations).toBe(0);
  });

  it("a file: token_endpoint: typed error, the code is never sent anywhere", async () => {
    const w = await startWorld({ asMetadata: { token_endpoint: "file:///etc/passwd" } });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: ["InsecureUrl", "InvalidDocument"] } });
    expect(w.counters.tokenRequests).toBe(0);
  });

  it("the metadata is an HTML page: typed error", async () => {
    const w = await startWorld();
    w.route(asPath, html());
    const out = await w.call();
    await w.check(out, {
      maxRequests: 8,
      expect: { tag: ["UnexpectedContentType", "AuthServerMetadataNotFound"] },
    });
  });

  it("the metadata is nested 100,000 levels deep: typed MalformedJson, no stack overflow", async () => {
    const w = await startWorld();
    w.route(asPath, rawJson(200, deepArray(100_000)));
    const out = await w.call();
    await w.check(out, {
      maxRequests: 8,
      expect: { tag: ["MalformedJson", "InvalidDocument", "ResponseTooLarge"] },
    });
  });

  it("the metadata streams 10 MB: typed ResponseTooLarge", async () => {
    const w = await startWorld();
    w.route(asPath, tenMegabytesStreamed());
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "ResponseTooLarge" } });
  });

  it("the metadata URL redirects: typed error, the redirect is not followed", async () => {
    const w = await startWorld();
    w.route(asPath, { status: 307, headers: { location: "/moved-metadata" } });
    w.route("/moved-metadata", json(200, { issuer: w.issuer }));
    const out = await w.call();
    await w.check(out, {
      maxRequests: 8,
      expect: { tag: ["UnexpectedRedirect", "AuthServerMetadataNotFound"] },
    });
    expect(requestsTo(w, "/moved-metadata")).toHaveLength(0);
  });

  it("no registration_endpoint and no other way to get a client: typed RegistrationUnavailable", async () => {
    const w = await startWorld({ asMetadata: { registration_endpoint: undefined } });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "RegistrationUnavailable" } });
  });

  it("metadata members named after Object.prototype (__proto__, constructor): typed error or success", async () => {
    const w = await startWorld();
    const body = `{"__proto__":{"token_endpoint":"https://evil.example/token"},"constructor":"x","issuer":"${w.issuer}","authorization_endpoint":"${w.base}/authorize","token_endpoint":"${w.base}/token","registration_endpoint":"${w.base}/register","code_challenge_methods_supported":["S256"],"response_types_supported":["code"]}`;
    w.route(asPath, rawJson(200, body));
    const out = await w.call();
    await w.check(out, {
      maxRequests: 12,
      expect: { statusOrTag: { status: 200, tags: ["InvalidDocument"] } },
    });
  });

  it("the metadata answers 503: typed error; an immediate second call makes no OAuth request", async () => {
    const w = await startWorld();
    w.route(asPath, json(503, { error: "temporarily_unavailable" }));
    const first = await w.call();
    const second = await expectNoRequestsDuring(w, () => w.call());
    await w.check([first, second], { maxRequests: 8, expect: { tag: "UnexpectedStatus" } });
  });

  it("the metadata hangs past the timeout: typed RequestTimeout; an immediate second call makes no OAuth request", async () => {
    const w = await startWorld({ session: { http: { timeoutMillis: 1_500 } } });
    w.route(asPath, { hang: true });
    const first = await w.call();
    const second = await expectNoRequestsDuring(w, () => w.call());
    await w.check([first, second], { maxRequests: 8, expect: { tag: "RequestTimeout" } });
  });
});
