/**
 * The resource stops saying dpop_bound_access_tokens_required (it now takes Bearer tokens too)
 * while the session holds a DPoP-bound token from an AS that lists no algorithms. A flow that
 * reads the metadata again and then fails (the user declines a step-up) leaves the session with
 * the old DPoP-bound token and a resource description without the requirement. The next refresh
 * of that token still carries a proof (RFC 9449 §5: a public client's refresh token is bound to
 * the key): no second login.
 */
import { describe, expect, it } from "vitest";
import { CredentialStore } from "../../../src/services/credential-store.js";
import { call, kitWith, open, prmRewritingFetch, settle, storedTokenType } from "./support.js";

describe("requirement removed while a DPoP-bound token is held", () => {
  it("the held DPoP-bound token is refreshed with a proof, not dropped for a re-login", async () => {
    // The resource takes DPoP and Bearer tokens; its metadata says "required" while prm.mode = "add".
    const kit = await kitWith({ authServer: { dpop: { advertise: false } }, mcp: { dpop: true } });
    const prm = { mode: "add" as "strip" | "add" | "pass" };
    const store = CredentialStore.memory();
    const traces: string[] = [];
    const session = await open(kit, store, undefined, {
      fetch: prmRewritingFetch(prm),
      metadataTtlMillis: 1,
      onTrace: (e) => traces.push(`${e.decision}: ${e.reason}`),
    });
    expect((await call(session, kit)).status).toBe(200);
    expect(session.state().context.resource?.dpopBoundTokensRequired).toBe(true);
    expect(await storedTokenType(store, session)).toBe("DPoP");

    // The operator drops the requirement; a step-up the user declines re-reads the metadata.
    prm.mode = "pass";
    kit.user.policy = { grant: "deny" };
    const stepUp = await settle(session.authorize(["other:scope"]));
    expect(stepUp.ok).toBe(false);
    kit.user.policy = { grant: "all" };
    expect(session.state().context.resource?.dpopBoundTokensRequired).toBe(undefined);
    // The DPoP-bound token is still held (and still works: the resource takes it).
    expect(await storedTokenType(store, session)).toBe("DPoP");
    expect((await call(session, kit)).status).toBe(200);

    const authorizationsBefore = kit.user.authorizations;
    const before = kit.requests.length;
    kit.expireAccessTokens();
    const result = await settle(call(session, kit));
    const after = kit.requests
      .slice(before)
      .filter((r) => r.kind === "token")
      .map((r) => [r.grantType, r.dpop === true, r.status]);
    expect(result.ok && (result.value as Response).status).toBe(200);
    // A DPoP-bound token set is refreshed with a proof (its refresh token is bound to the key)...
    expect(after[0]?.slice(0, 2)).toEqual(["refresh_token", true]);
    // ...and the user is not sent to the browser again.
    expect(kit.user.authorizations - authorizationsBefore).toBe(0);
  }, 60_000);
});
