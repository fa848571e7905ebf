/**
 * - A hostile or broken AS that binds the first token but answers a refresh (sent with a proof,
 *   the resource requiring DPoP) with a Bearer token: refused, never presented, bounded.
 * - A background session (interaction "never") under "off" at such a resource ends with
 *   DpopRequiredByResource, not InteractionRequired: a login elsewhere could not help.
 */
import { describe, expect, it } from "vitest";
import { CredentialStore } from "../../../src/services/credential-store.js";
import { call, kitWith, open, quietDpopServer, settle, tokenRequests } from "./support.js";

/** Rewrites the token_type of refresh answers to Bearer. */
const bearerOnRefresh: typeof globalThis.fetch = async (input, init) => {
  const response = await globalThis.fetch(input, init);
  const body = init?.body;
  const text =
    typeof body === "string" ? body : body instanceof URLSearchParams ? body.toString() : "";
  if (!text.includes("grant_type=refresh_token") || response.status !== 200) return response;
  const json = (await response.json()) as Record<string, unknown>;
  json.token_type = "Bearer";
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  return new Response(JSON.stringify(json), { status: 200, headers });
};

describe("hostile refresh answer", () => {
  it("a refresh answered Bearer: DpopBindingMismatch or a new DPoP token, never a Bearer token at the resource; bounded", async () => {
    const kit = await kitWith(quietDpopServer);
    const session = await open(kit, CredentialStore.memory(), undefined, {
      fetch: bearerOnRefresh,
    });
    expect((await call(session, kit)).status).toBe(200);
    const outcomes: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      kit.expireAccessTokens();
      const r = await settle(call(session, kit));
      outcomes.push(r.ok ? (r.value as Response).status : (r.error as { _tag: string })._tag);
    }
    expect(tokenRequests(kit).every(([, proved]) => proved)).toBe(true);
    const mcp = kit.requests.filter((r) => r.kind === "mcp");
    expect(mcp.filter((r) => r.status === 200 && r.dpop !== true)).toEqual([]);
    expect(kit.requests.length).toBeLessThan(120);
  }, 60_000);
});

describe("background session under off", () => {
  it("interaction never + off: the error names the DPoP problem, not a login the user could do", async () => {
    const kit = await kitWith(quietDpopServer);
    const session = await open(kit, CredentialStore.memory(), "off", { interaction: "never" });
    const r = await settle(call(session, kit));
    const error = r.ok ? undefined : (r.error as { _tag: string; message: string });
    expect(error?._tag).toBe("DpopRequiredByResource");
  }, 60_000);
});
