/**
 * Logout revokes (RFC 7009) before it forgets: the refresh token first, then the access token,
 * with the client's authentication; a failed revocation is reported and the local data is
 * deleted all the same.
 */
import { createSession, type Session } from "@authchart/core";
import { startTestkit, type Testkit } from "@authchart/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { disposeWorlds, json, startWorld } from "../hostile/harness.js";
import { callTool, redirectUri } from "./support.js";

let kit: Testkit | undefined;
let session: Session | undefined;
afterEach(async () => {
  await session?.close();
  await kit?.close();
  session = undefined;
  kit = undefined;
  await disposeWorlds();
});

describe("logout revokes at the authorization server (RFC 7009)", () => {
  it("the refresh token is revoked (the JWT access token is not revocable: not a failure), then the session authorizes afresh", async () => {
    const k = await startTestkit();
    kit = k;
    const s = await createSession({
      serverUrl: k.mcpUrl,
      client: { clientName: "authchart e2e", redirectUris: [redirectUri] },
      userAgent: (prompt) => k.user.authorize(prompt.url),
    });
    session = s;
    expect((await callTool(s, k.mcpUrl, "echo", { text: "a" })).status).toBe(200);
    const report = await s.logout();
    expect(report.failures.map((f) => f.message)).toEqual([]);
    expect(report.revoked).toBe(1);
    // The refresh token first (200), then the access token: oidc-provider's JWT access tokens
    // are self-contained, answered unsupported_token_type (RFC 7009 §2.2.1).
    const revocations = k.requests.filter((r) => r.path.endsWith("/revoke"));
    expect(revocations.map((r) => r.status)).toEqual([200, 400]);
    // Forgotten locally: the next call authorizes again.
    expect((await callTool(s, k.mcpUrl, "echo", { text: "b" }, 2)).status).toBe(200);
    expect(k.user.authorizations).toBe(2);
  });

  it("a revocation endpoint that fails: reported (typed, no secret), the local data deleted anyway", async () => {
    const w = await startWorld();
    w.route(
      "/.well-known/oauth-authorization-server",
      json(200, {
        issuer: w.issuer,
        authorization_endpoint: `${w.base}/authorize`,
        token_endpoint: `${w.base}/token`,
        registration_endpoint: `${w.base}/register`,
        revocation_endpoint: `${w.base}/revoke`,
        code_challenge_methods_supported: ["S256"],
        scopes_supported: ["read"],
      }),
    );
    w.route("/revoke", { status: 503, body: "unavailable" });
    const first = await w.call();
    expect(first).toMatchObject({ kind: "response", status: 200 });
    const report = await w.session.logout();
    expect(report.revoked).toBe(0);
    expect(report.failures.map((f) => f._tag)).toEqual(["RevocationFailed"]);
    for (const secret of w.secrets) {
      expect(JSON.stringify(report.failures.map((f) => f.message))).not.toContain(secret);
    }
    expect(w.traces.some((t) => t.decision === "revoked")).toBe(true);
    const before = w.counters.authorizations;
    const again = await w.call();
    expect(again).toMatchObject({ kind: "response", status: 200 });
    expect(w.counters.authorizations).toBe(before + 1);
  });
});
