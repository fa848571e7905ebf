/**
 * An authorization server that cannot bind tokens (no DPoP at all) in front of a resource that
 * takes DPoP-bound tokens only: every code exchange carries a proof and gets a Bearer token
 * (DpopBindingMismatch). Repeated application calls must not send the user to the browser
 * without bound, and no Bearer token may reach the resource. Errors and traces carry no secret.
 */
import { describe, expect, it } from "vitest";
import { CredentialStore } from "../../../src/services/credential-store.js";
import { call, kitWith, open, settle, tokenRequests } from "./support.js";

describe("bounded when the AS cannot bind", () => {
  it("five calls: a bounded number of browser trips, every one with a proof, no Bearer token used", async () => {
    const kit = await kitWith({ mcp: { dpop: { required: true } } });
    const traces: string[] = [];
    const session = await open(kit, CredentialStore.memory(), undefined, {
      onTrace: (e) => traces.push(JSON.stringify(e)),
    });
    const errors: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await settle(call(session, kit));
      errors.push(r.ok ? (r.value as Response).status : (r.error as { _tag: string })._tag);
    }
    expect(
      errors.every(
        (e) => e === "DpopBindingMismatch" || e === "LoopDetected" || typeof e === "string",
      ),
    ).toBe(true);
    expect(kit.user.authorizations).toBeLessThanOrEqual(3);
    expect(tokenRequests(kit).every(([, proved]) => proved)).toBe(true);
    expect(kit.requests.filter((r) => r.kind === "mcp" && r.status === 200)).toEqual([]);
    // Nothing in the trace looks like a token, a code or a proof.
    const all = traces.join("\n");
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
    expect(all).not.toMatch(/code_verifier|refresh_token"\s*:/);
  }, 60_000);
});
