/** Shared helpers for the tests of dpop_bound_access_tokens_required (RFC 9728 §2) over real servers. */
import type { Testkit, TestkitOptions } from "@authchart/testkit";
import { Effect, Option, Redacted } from "effect";
import type { Session, SessionOptions } from "../../../src/index.js";
import type { DpopPolicy } from "../../../src/protocol/dpop.js";
import type { CredentialStoreService } from "../../../src/services/credential-store.js";
import { call as callLive, open as openLive } from "../live-support.js";

export { cleanups, kitWith } from "../live-support.js";

/** A confidential client registered at the kit's AS for one grant, as `client.preRegistered` takes it. */
export const preRegisteredFor = async (kit: Testkit, grant: string) => {
  const registered = await kit.registerClient({
    grant_types: [grant],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: "client_secret_basic",
  });
  return {
    issuer: kit.issuer,
    clientId: String(registered.client_id),
    clientSecret: Redacted.make(String(registered.client_secret)),
    tokenEndpointAuthMethod: "client_secret_basic" as const,
  };
};
/** What the PRM says about the requirement, as the test wants it now. */
export interface PrmSwitch {
  /** "strip": the member is removed; "add": set true; "pass": untouched. */
  mode: "strip" | "add" | "pass";
}

/** A fetch that rewrites protected-resource metadata as `prm.mode` says. */
export const prmRewritingFetch =
  (prm: PrmSwitch): typeof globalThis.fetch =>
  async (input, init) => {
    const response = await globalThis.fetch(input, init);
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!url.includes("/.well-known/oauth-protected-resource") || response.status !== 200)
      return response;
    if (prm.mode === "pass") return response;
    const json = (await response.json()) as Record<string, unknown>;
    if (prm.mode === "strip") delete json.dpop_bound_access_tokens_required;
    else json.dpop_bound_access_tokens_required = true;
    const headers = new Headers(response.headers);
    headers.delete("content-length");
    return new Response(JSON.stringify(json), { status: 200, headers });
  };

/** A session with the DPoP policy `dpop` (the default when undefined). */
export const open = (
  kit: Testkit,
  store: CredentialStoreService,
  dpop?: DpopPolicy,
  extra: Partial<SessionOptions> = {},
) => openLive(kit, store, { ...(dpop === undefined ? {} : { dpop }), ...extra });

export const call = (session: Session, kit: Testkit, tool = "echo") =>
  callLive(session, kit.mcpUrl, tool);

export const settle = <A>(p: Promise<A>) =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

export const tokenRequests = (kit: Testkit) =>
  kit.requests.filter((r) => r.kind === "token").map((r) => [r.grantType, r.dpop === true]);

export const storedTokenType = async (store: CredentialStoreService, session: Session) => {
  const token = session.state().token;
  if (token === undefined) return undefined;
  const held = await Effect.runPromise(store.loadTokens(token));
  return Option.getOrUndefined(held)?.tokenType;
};

export const quietDpopServer: TestkitOptions = {
  authServer: { dpop: { advertise: false } },
  mcp: { dpop: { required: true } },
};
