/**
 * Session records and the requirement (RFC 9728 §2 dpop_bound_access_tokens_required):
 * - a record written before the field existed (no `dpopBoundTokensRequired`) decodes;
 * - a DPoP-bound token held with such a record (obtained under policy "required", what the
 *   previous version needed for this resource) is refreshed under the new default "auto" with a
 *   proof: the token set says it is DPoP-bound (RFC 9449 §5: a public client's refresh token is
 *   bound to the key).
 */
import { Effect, Option } from "effect";
import { describe, expect, it } from "vitest";
import { CredentialStore } from "../../../src/services/credential-store.js";
import {
  call,
  kitWith,
  open,
  quietDpopServer,
  settle,
  storedTokenType,
  tokenRequests,
} from "./support.js";

const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(e);

describe("a record from before the field", () => {
  it("decodes; a restored DPoP-bound token is refreshed with a proof under auto (no re-login)", async () => {
    const kit = await kitWith(quietDpopServer);
    const store = CredentialStore.memory();
    const first = await open(kit, store, "required");
    expect((await call(first, kit)).status).toBe(200);
    expect(await storedTokenType(store, first)).toBe("DPoP");
    await first.close();

    // The record as the previous version wrote it: no dpopBoundTokensRequired.
    const text = Option.getOrThrow(await run(store.loadSession(kit.mcpUrl)));
    const record = JSON.parse(text);
    expect(record.resource.dpopBoundTokensRequired).toBe(true);
    delete record.resource.dpopBoundTokensRequired;
    await run(store.saveSession(kit.mcpUrl, JSON.stringify(record)));

    const restored = await open(kit, store);
    expect(restored.state().context.token).toBeDefined(); // decoded, not dropped
    expect(restored.state().context.resource?.dpopBoundTokensRequired).toBe(undefined);
    kit.expireAccessTokens();
    const result = await settle(call(restored, kit));
    expect(result.ok && (result.value as Response).status).toBe(200);
    // The held token is DPoP-bound: its refresh must carry a proof, and the user is not asked again.
    expect(tokenRequests(kit)).toEqual([
      ["authorization_code", true],
      ["refresh_token", true],
    ]);
    expect(kit.user.authorizations).toBe(1);
  }, 60_000);

  it("a record with the field set to a non-boolean is refused as a whole (a fresh start), not half-read", async () => {
    const kit = await kitWith(quietDpopServer);
    const store = CredentialStore.memory();
    const first = await open(kit, store);
    expect((await call(first, kit)).status).toBe(200);
    await first.close();
    const record = JSON.parse(Option.getOrThrow(await run(store.loadSession(kit.mcpUrl))));
    record.resource.dpopBoundTokensRequired = "true";
    await run(store.saveSession(kit.mcpUrl, JSON.stringify(record)));
    const restored = await open(kit, store);
    expect(restored.state().context.resource).toBeUndefined();
    // Works anyway: rediscovered, the stored DPoP token (or a new one) used with proofs.
    expect((await call(restored, kit)).status).toBe(200);
    const mcp = kit.requests.filter((r) => r.kind === "mcp" && r.status === 200);
    expect(mcp.every((r) => r.dpop === true)).toBe(true);
  }, 60_000);
});
