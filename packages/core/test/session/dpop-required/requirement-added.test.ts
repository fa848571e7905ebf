/**
 * The resource starts requiring DPoP-bound tokens after the session discovered its metadata (or
 * the session record predates the field): the held Bearer token is refused with a
 * `DPoP error="invalid_token"` challenge naming the same resource_metadata URL. The session reads
 * the metadata again, learns the requirement and gets a DPoP-bound token, in a bounded number of
 * requests.
 */
import { describe, expect, it } from "vitest";
import { CredentialStore } from "../../../src/services/credential-store.js";
import {
  call,
  kitWith,
  open,
  prmRewritingFetch,
  quietDpopServer,
  settle,
  tokenRequests,
} from "./support.js";

describe("requirement added after discovery", () => {
  it("a held Bearer token refused by a resource that now requires DPoP: the requirement is learned and a DPoP token obtained", async () => {
    const kit = await kitWith(quietDpopServer);
    const prm = { mode: "strip" as "strip" | "add" | "pass" };
    const traces: string[] = [];
    const session = await open(kit, CredentialStore.memory(), undefined, {
      fetch: prmRewritingFetch(prm),
      onTrace: (e) => traces.push(`${e.decision}: ${e.reason}`),
    });
    // First discovery without the member: a Bearer token is obtained (AS lists no algorithm).
    await session.authorize();
    expect(session.state().context.resource?.dpopBoundTokensRequired).toBe(undefined);
    expect(tokenRequests(kit)).toEqual([["authorization_code", false]]);
    // The resource now says it (it always refused Bearer tokens in this kit).
    prm.mode = "pass";
    const before = kit.requests.length;
    const result = await settle(call(session, kit));
    const after = kit.requests.slice(before);
    // Bounded: no runaway.
    expect(after.length).toBeLessThan(40);
    // What a correct client would do: re-read the PRM, learn the requirement, prove.
    expect(after.filter((r) => r.kind === "prm").length).toBeGreaterThan(0);
    expect(session.state().context.resource?.dpopBoundTokensRequired).toBe(true);
    expect(result.ok && (result.value as Response).status).toBe(200);
  }, 60_000);
});
