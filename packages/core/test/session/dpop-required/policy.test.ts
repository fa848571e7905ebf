/**
 * A resource whose metadata says `dpop_bound_access_tokens_required` (RFC 9728 §2) takes
 * DPoP-bound tokens only (RFC 9449). A session under the default DPoP policy ("auto") proves
 * possession for its tokens even where the authorization server lists no DPoP algorithms, from the
 * first code exchange through refreshes and across a restart; under "off" it stops, typed, before
 * the user is sent anywhere; a Bearer token in answer to a proof is refused, typed, never used.
 * Real parts: testkit's oidc-provider and MCP server.
 */
import { describe, expect, it } from "vitest";
import { CredentialStore } from "../../../src/services/credential-store.js";
import { call, kitWith, open, quietDpopServer, storedTokenType, tokenRequests } from "./support.js";

describe("a resource that takes DPoP-bound tokens only (RFC 9728 dpop_bound_access_tokens_required)", () => {
  it('"auto": the code exchange and every refresh carry proofs although the AS lists no algorithm; a restored session keeps proving', async () => {
    const kit = await kitWith(quietDpopServer);
    const store = CredentialStore.memory();
    const session = await open(kit, store);
    expect((await call(session, kit)).status).toBe(200);
    expect(session.state().context.authServer?.metadata.dpop_signing_alg_values_supported).toBe(
      undefined,
    );
    expect(session.state().context.resource?.dpopBoundTokensRequired).toBe(true);
    expect(await storedTokenType(store, session)).toBe("DPoP");
    expect(tokenRequests(kit)).toEqual([["authorization_code", true]]);

    kit.expireAccessTokens();
    expect((await call(session, kit)).status).toBe(200);
    expect(tokenRequests(kit)).toEqual([
      ["authorization_code", true],
      ["refresh_token", true],
    ]);
    await session.close();

    // The requirement is part of the session record: a process start refreshes with a proof too.
    const restored = await open(kit, store);
    kit.expireAccessTokens();
    expect((await call(restored, kit)).status).toBe(200);
    expect(tokenRequests(kit)).toEqual([
      ["authorization_code", true],
      ["refresh_token", true],
      ["refresh_token", true],
    ]);
    expect(kit.user.authorizations).toBe(1);
    // Every MCP request but the first (no token yet) carried a proof: no token went as Bearer.
    const mcp = kit.requests.filter((r) => r.kind === "mcp");
    expect(mcp.filter((r) => r.dpop !== true)).toEqual([mcp[0]]);
  }, 60_000);

  it('"off": DpopRequiredByResource before the user is sent to the authorization server, and again on the next call, not a loop', async () => {
    const kit = await kitWith(quietDpopServer);
    const session = await open(kit, CredentialStore.memory(), "off");
    const failure = await call(session, kit).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ _tag: "DpopRequiredByResource", resource: kit.mcpUrl });
    expect(String((failure as Error).message)).toContain("dpop_bound_access_tokens_required");
    expect(kit.user.authorizations).toBe(0);
    expect(tokenRequests(kit)).toEqual([]);
    // Nothing is registered for tokens this session could not use: discovery only.
    expect(kit.requests.map((r) => r.kind)).toEqual(["mcp", "prm", "as-metadata"]);
    const before = kit.requests.length;
    await expect(call(session, kit)).rejects.toMatchObject({ _tag: "DpopRequiredByResource" });
    expect(kit.user.authorizations).toBe(0);
    // The decision stands: the next call asks the authorization server nothing.
    expect(kit.requests.slice(before).filter((r) => r.server === "as")).toEqual([]);
  }, 60_000);

  it("an authorization server without DPoP answers the proof with a Bearer token: DpopBindingMismatch, the token never used", async () => {
    const kit = await kitWith({ mcp: { dpop: { required: true } } });
    const session = await open(kit, CredentialStore.memory());
    await expect(call(session, kit)).rejects.toMatchObject({ _tag: "DpopBindingMismatch" });
    expect(tokenRequests(kit)).toEqual([["authorization_code", true]]);
    // The Bearer token never reached the resource: its one request is the first, without a token.
    expect(kit.requests.filter((r) => r.kind === "mcp").map((r) => r.status)).toEqual([401]);
    expect(session.state().token).toBeUndefined();
  }, 60_000);

  it("a resource without the requirement, an AS listing no algorithm: no proof, a Bearer token (auto stays auto)", async () => {
    const kit = await kitWith({ authServer: { dpop: { advertise: false } }, mcp: { dpop: true } });
    const store = CredentialStore.memory();
    const session = await open(kit, store);
    expect((await call(session, kit)).status).toBe(200);
    expect(session.state().context.resource?.dpopBoundTokensRequired).toBe(undefined);
    expect(tokenRequests(kit)).toEqual([["authorization_code", false]]);
    expect(await storedTokenType(store, session)).toBe("Bearer");
  }, 60_000);
});
