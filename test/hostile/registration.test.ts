/**
 * Hostile dynamic client registration (RFC 7591): huge answers, prototype-named ids, expired
 * secrets, non-JSON, redirects.
 */
import { afterEach, describe, expect, it } from "vitest";
import { disposeWorlds, html, json, random, requestsTo, startWorld } from "./harness.js";

afterEach(disposeWorlds);

describe("hostile registration", () => {
  it("refuses with a 100 KB error_description: typed RegistrationRejected, message < 4 KB", async () => {
    const w = await startWorld();
    w.route(
      "/register",
      json(400, { error: "invalid_client_metadata", error_description: "x".repeat(100 * 1024) }),
    );
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "RegistrationRejected" } });
  });

  it("answers a 100 KB client_id: typed InvalidDocument (message < 4 KB), never sent on", async () => {
    const w = await startWorld({
      registration: () => json(201, { client_id: `big-${"c".repeat(100 * 1024)}` }),
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "InvalidDocument" } });
    expect(w.counters.authorizations).toBe(0);
  });

  it.each(["constructor", "__proto__", "toString"])(
    "answers client_id %s (an Object.prototype name): no crash, typed error or success",
    async (clientId) => {
      const w = await startWorld({
        registration: ({ request }) =>
          json(201, {
            client_id: clientId,
            redirect_uris: (JSON.parse(request.body) as { redirect_uris: unknown }).redirect_uris,
            token_endpoint_auth_method: "none",
          }),
      });
      const out = await w.call();
      await w.check(out, { maxRequests: 12, expect: "anything-typed" });
    },
  );

  it("answers an error code named __proto__: typed RegistrationRejected", async () => {
    const w = await startWorld();
    w.route("/register", json(400, { error: "__proto__", error_description: "constructor" }));
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "RegistrationRejected" } });
  });

  it("issues a client secret that expired in the past: ClientSecretExpired (or one re-registration), never a token request with it", async () => {
    const expiredSecrets: string[] = [];
    const w = await startWorld({
      registration: ({ clientId, clientSecret, request }) => {
        expiredSecrets.push(clientSecret);
        return json(201, {
          client_id: clientId,
          client_secret: clientSecret,
          client_secret_expires_at: Math.floor(Date.now() / 1000) - 3600,
          redirect_uris: (JSON.parse(request.body) as { redirect_uris: unknown }).redirect_uris,
          token_endpoint_auth_method: "client_secret_basic",
        });
      },
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 10, expect: { tag: "ClientSecretExpired" } });
    expect(w.counters.registrations).toBeLessThanOrEqual(2);
    for (const req of w.tokenRequests) {
      const basic = String(req.headers.authorization ?? "");
      const decoded = basic.startsWith("Basic ")
        ? Buffer.from(basic.slice(6), "base64").toString("utf8")
        : "";
      for (const secret of expiredSecrets) {
        expect(decoded).not.toContain(secret);
        expect(decodeURIComponent(req.body)).not.toContain(secret);
      }
    }
  });

  it("answers 500 with HTML: typed error", async () => {
    const w = await startWorld();
    w.route("/register", html(500));
    const out = await w.call();
    await w.check(out, {
      maxRequests: 8,
      expect: { tag: ["RegistrationRejected", "UnexpectedStatus", "UnexpectedContentType"] },
    });
  });

  it("answers 201 with an HTML page: typed UnexpectedContentType", async () => {
    const w = await startWorld();
    w.route("/register", html(201));
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "UnexpectedContentType" } });
  });

  it("redirects the registration POST: typed UnexpectedRedirect, not followed", async () => {
    const w = await startWorld();
    w.route("/register", { status: 307, headers: { location: "/register-elsewhere" } });
    w.route("/register-elsewhere", json(201, { client_id: `c-${random()}` }));
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "UnexpectedRedirect" } });
    expect(requestsTo(w, "/register-elsewhere")).toHaveLength(0);
  });

  it("hangs: typed RequestTimeout within the http timeout", async () => {
    const w = await startWorld({ session: { http: { timeoutMillis: 1_500 } } });
    w.route("/register", { hang: true });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "RequestTimeout" } });
  });
});
