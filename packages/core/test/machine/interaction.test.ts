/**
 * The interaction policy (issue 8): a background session (`interaction: "never"`) never starts a
 * step that needs the user. When only the user can help it ends the flow at once — after
 * discovery, before any registration or browser step — with a typed InteractionRequired that
 * names the resource, the authorization server and the scopes; a token held or refreshable keeps
 * serving. Before it ends it looks in the store: a token the user obtained elsewhere over the
 * same store (an interactive session, `authchart login`) that serves the request is adopted, and
 * the next request after an InteractionRequired looks again, without a cool-down. Driven through
 * the real machine with scripted steps and a simulated clock.
 */
import { describe, expect, it } from "vitest";
import { DpopRequiredByResource } from "../../src/errors.js";
import { interactionRequired } from "../../src/machine/decisions.js";
import { InteractionRequired } from "../../src/machine/errors.js";
import { storedTokenServes } from "../../src/machine/flows/setup.js";
import type { AuthEmitted } from "../../src/machine/model.js";
import {
  authServerInfo,
  challenge,
  clientInfo,
  type Driven,
  drive,
  failures,
  ISSUER,
  input,
  insufficientScope403,
  RESOURCE,
  resourceInfo,
  SERVER_URL,
  tokenInfo,
  unauthorized401,
} from "./scripted.js";

const background = { interaction: "never" } as const;

const restored = (config: Parameters<typeof input>[0], token = tokenInfo()) =>
  drive(
    input(config, {
      resource: resourceInfo(["read", "write"]),
      authServer: authServerInfo(undefined, ["read", "write"]),
      client: clientInfo("dynamic"),
      token,
    }),
  );

const settledFailures = (d: Driven) =>
  d.emitted.filter(
    (e): e is Extract<AuthEmitted, { type: "settled"; outcome: "failed" }> =>
      e.type === "settled" && e.outcome === "failed",
  );

/** Discovery of the scripted resource and authorization server. */
const discover = async (d: Driven) => {
  await d.resolve("discoverResource", resourceInfo(["read", "write"]));
  await d.resolve("discoverAuthServer", authServerInfo(undefined, ["read", "write"]));
};
/** The store holds no token for this resource and issuer. */
const noneStored = (d: Driven) => d.resolve("findStoredToken", undefined);
/** What a login elsewhere left in the store: its token set's metadata and its dynamic client. */
const storedElsewhere = (token: Partial<Parameters<typeof tokenInfo>[0]> = {}) => ({
  token: tokenInfo({ version: 7, scopes: ["read", "write"], ...token }),
  client: clientInfo("dynamic"),
});

describe("a background session (interaction: never)", () => {
  it("a first request ends after discovery with InteractionRequired: resource, issuer, scopes; nothing registered, no browser", async () => {
    const d = drive(input({ ...background, offlineAccess: false }));
    d.send(challenge({ status: 401, scope: ["read"] }, undefined, "first"));
    await discover(d);
    expect(d.at()).toBe("obtaining.findingStoredToken");
    expect(d.script.callsOf("findStoredToken")[0]?.input).toMatchObject({
      resource: RESOURCE,
      authServer: { issuer: ISSUER },
      resourceRequiringDpop: undefined,
    });
    await noneStored(d);
    // No cool-down for InteractionRequired: the next request looks in the store again.
    expect(d.value()).toEqual({ failed: "ready" });
    const error = d.context().error;
    expect(error).toBeInstanceOf(InteractionRequired);
    expect(error).toMatchObject({ resource: RESOURCE, issuer: ISSUER, scopes: ["read"] });
    expect(error?.message).toBe(
      `consent needed at ${ISSUER} for read on ${RESOURCE}; run an interactive login (authchart login ${RESOURCE})`,
    );
    expect(settledFailures(d).at(-1)?.error?._tag).toBe("InteractionRequired");
    expect(d.script.callsOf("register")).toHaveLength(0);
    expect(d.script.callsOf("authorize")).toHaveLength(0);
    // Visible in the trace, with what consent is needed; no authorization was counted.
    const entry = d.traces().find((t) => t.decision === "interaction required");
    expect(entry?.details).toEqual({ resource: RESOURCE, issuer: ISSUER, scopes: ["read"] });
    expect(d.context().authorizations.size).toBe(0);
  });

  it("each later request looks in the store again, without a cool-down: nothing there, InteractionRequired again; nothing registered, nothing counted", async () => {
    const d = drive(input(background));
    d.send(unauthorized401(undefined, "first"));
    await discover(d);
    await noneStored(d);
    for (const [i, event] of (["challenge", "token.expired"] as const).entries()) {
      expect(d.value()).toEqual({ failed: "ready" });
      d.send(
        event === "challenge"
          ? unauthorized401(undefined, `again-${i}`)
          : { type: "token.expired", requestId: `again-${i}`, tokenVersion: 1 },
      );
      expect(d.answers(`again-${i}`)).toEqual([
        { type: "challenge.answered", requestId: `again-${i}`, outcome: "wait" },
      ]);
      // The metadata is known and current: straight to the store, no discovery again.
      expect(d.at()).toBe("obtaining.findingStoredToken");
      await noneStored(d);
      expect(settledFailures(d).at(-1)?.error?._tag).toBe("InteractionRequired");
    }
    expect(d.script.callsOf("findStoredToken")).toHaveLength(3);
    expect(d.script.callsOf("discoverResource")).toHaveLength(1);
    expect(d.script.callsOf("register")).toHaveLength(0);
    expect(d.context().authorizations.size).toBe(0);
  });

  it("the next request adopts a token a login elsewhere stored: no registration, no authorization, traced", async () => {
    const d = drive(input({ ...background, offlineAccess: false }));
    d.send(unauthorized401(undefined, "first"));
    await discover(d);
    await noneStored(d);
    expect(d.context().error?._tag).toBe("InteractionRequired");
    // The user logs in elsewhere; the same session's next request finds the token.
    d.send(unauthorized401(undefined, "after-login"));
    await d.resolve("findStoredToken", storedElsewhere());
    expect(d.value()).toBe("authorized");
    expect(d.context().token).toMatchObject({ version: 7, clientId: "dyn-client" });
    expect(d.context().client).toEqual(clientInfo("dynamic"));
    expect(d.context().error).toBeUndefined();
    expect(d.emitted.at(-1)).toMatchObject({ type: "settled", outcome: "authorized" });
    expect(d.traces().find((t) => t.decision === "adopted")?.details).toEqual({
      client: "dyn-client",
      version: 7,
    });
    expect(d.script.callsOf("register")).toHaveLength(0);
    expect(d.script.callsOf("authorize")).toHaveLength(0);
    expect(d.context().authorizations.size).toBe(0);
  });

  it("an expired stored token with a refresh token is adopted, and the lifecycle refreshes it", async () => {
    const d = drive(input(background));
    d.send(unauthorized401(undefined, "first"));
    await discover(d);
    await d.resolve("findStoredToken", storedElsewhere({ expiresAt: 1, hasRefreshToken: true }));
    expect(d.value()).toBe("authorized");
    d.send({ type: "token.expired", requestId: "expired", tokenVersion: 7 });
    expect(d.value()).toBe("refreshing");
    expect(d.script.running("refreshToken")?.input.token?.version).toBe(7);
  });

  it("a store that cannot be read, or an expired stored token without a refresh token: InteractionRequired as before", async () => {
    const d = drive(input(background));
    d.send(unauthorized401(undefined, "first"));
    await discover(d);
    await d.reject("findStoredToken", failures.storeFailed);
    expect(d.context().error?._tag).toBe("InteractionRequired");
    d.send(unauthorized401(undefined, "again"));
    await d.resolve("findStoredToken", storedElsewhere({ expiresAt: 1, hasRefreshToken: false }));
    expect(d.value()).toEqual({ failed: "ready" });
    expect(settledFailures(d).at(-1)?.error?._tag).toBe("InteractionRequired");
    expect(d.context().token).toBeUndefined();
  });

  it("no token this session could use there (DPoP, RFC 9728 §2): that error, not InteractionRequired", async () => {
    const d = drive(input(background));
    d.send(unauthorized401(undefined, "first"));
    await discover(d);
    await d.reject(
      "findStoredToken",
      new DpopRequiredByResource({ resource: "https://mcp.example.com/mcp" }),
    );
    expect(d.context().error?._tag).toBe("DpopRequiredByResource");
    expect(settledFailures(d).at(-1)?.error?._tag).toBe("DpopRequiredByResource");
    expect(d.script.callsOf("register")).toHaveLength(0);
    expect(d.script.callsOf("authorize")).toHaveLength(0);
  });

  it("the device grant's user code is not shown either", async () => {
    const d = drive(input({ ...background, grant: "device_code" }));
    d.send(unauthorized401(undefined, "first"));
    await discover(d);
    await noneStored(d);
    expect(d.context().error?._tag).toBe("InteractionRequired");
    expect(d.script.callsOf("register")).toHaveLength(0);
    expect(d.script.callsOf("requestDeviceCode")).toHaveLength(0);
  });

  it("a held token keeps serving: a refresh is no interaction", async () => {
    const d = restored(background, tokenInfo({ version: 1 }));
    expect(d.value()).toBe("authorized");
    d.send(unauthorized401(1, "req"));
    expect(d.value()).toBe("refreshing");
    await d.resolve("refreshToken", tokenInfo({ version: 2, obtainedBy: "refresh-after-401" }));
    expect(d.value()).toBe("authorized");
    expect(d.context().token?.version).toBe(2);
  });

  it("a refresh that meets invalid_grant ends in InteractionRequired, not a browser step", async () => {
    const d = restored(background, tokenInfo({ version: 1 }));
    d.send(unauthorized401(1, "req"));
    await d.reject("refreshToken", failures.refreshInvalidGrant);
    // Known, current metadata: a background session goes straight to the store.
    expect(d.at()).toBe("obtaining.findingStoredToken");
    await noneStored(d);
    expect(d.value()).toEqual({ failed: "ready" });
    expect(d.context().error?._tag).toBe("InteractionRequired");
    expect(d.context().token).toBeUndefined();
    expect(d.script.callsOf("authorize")).toHaveLength(0);
  });

  it("a step-up fails its own request with InteractionRequired for the union; the token stays in use", async () => {
    const d = restored({ ...background, offlineAccess: false }, tokenInfo({ scopes: ["read"] }));
    d.send(insufficientScope403(["write"], 1, "needs-write"));
    // Known, current metadata: no discovery at all; the store holds the same token, without write.
    expect(d.at()).toBe("obtaining.findingStoredToken");
    await d.resolve("findStoredToken", storedElsewhere({ version: 1, scopes: ["read"] }));
    expect(d.value()).toBe("authorized");
    expect(d.script.callsOf("discoverResource")).toHaveLength(0);
    expect(settledFailures(d).at(-1)?.error).toMatchObject({
      _tag: "InteractionRequired",
      scopes: ["read", "write"],
      issuer: ISSUER,
    });
    expect(d.context().token?.version).toBe(1);
    // The next 403 asks again, and fails again at once; the loop guard counted nothing.
    d.send(insufficientScope403(["write"], 1, "needs-write-again"));
    await noneStored(d);
    expect(d.value()).toBe("authorized");
    expect(settledFailures(d)).toHaveLength(2);
    expect(d.context().authorizations.size).toBe(0);
    expect(d.script.callsOf("authorize")).toHaveLength(0);
  });

  it("a step-up is answered by a token with its scopes that a login elsewhere stored", async () => {
    const d = restored({ ...background, offlineAccess: false }, tokenInfo({ scopes: ["read"] }));
    d.send(insufficientScope403(["write"], 1, "needs-write"));
    await d.resolve("findStoredToken", storedElsewhere({ version: 2, scopes: ["read", "write"] }));
    expect(d.value()).toBe("authorized");
    expect(d.context().token).toMatchObject({ version: 2, scopes: ["read", "write"] });
    expect(d.answers("needs-write").at(-1)).toMatchObject({ outcome: "wait" });
    expect(d.emitted.at(-1)).toMatchObject({ type: "settled", outcome: "authorized" });
    expect(d.script.callsOf("authorize")).toHaveLength(0);
  });

  it("session.authorize is refused the same way; scopes the token holds are no prompt", async () => {
    const d = restored(background, tokenInfo({ scopes: ["read"] }));
    d.send({ type: "session.authorize", scopes: ["read"] });
    expect(d.emitted.at(-2)).toMatchObject({ type: "settled", outcome: "authorized" });
    d.send({ type: "session.authorize", scopes: ["admin"] });
    await noneStored(d);
    expect(d.value()).toBe("authorized");
    expect(settledFailures(d).at(-1)?.error).toMatchObject({ _tag: "InteractionRequired" });
  });

  it("an interactive session (the default) goes on to register and authorize", async () => {
    const d = drive(input());
    d.send(unauthorized401(undefined, "first"));
    await discover(d);
    expect(d.at()).toBe("obtaining.registering");
  });
});

describe("storedTokenServes (the decision)", () => {
  const plan = (required: string[]) => ({
    requested: required,
    origin: "challenge" as const,
    optional: [],
    required,
  });
  const now = 1_000;

  it("wants a stored token, unexpired or refreshable, with every scope the request needs", () => {
    expect(storedTokenServes(undefined, plan([]), now)).toBe(false);
    expect(storedTokenServes(storedElsewhere({ expiresAt: now + 1 }), plan(["read"]), now)).toBe(
      true,
    );
    expect(storedTokenServes(storedElsewhere({ expiresAt: undefined }), undefined, now)).toBe(true);
    expect(
      storedTokenServes(
        storedElsewhere({ expiresAt: now, hasRefreshToken: true }),
        plan(["read"]),
        now,
      ),
    ).toBe(true);
    expect(
      storedTokenServes(
        storedElsewhere({ expiresAt: now, hasRefreshToken: false }),
        plan(["read"]),
        now,
      ),
    ).toBe(false);
    // A step-up's scopes the stored token lacks: it is no answer to the step-up.
    expect(storedTokenServes(storedElsewhere({ scopes: ["read"] }), plan(["admin"]), now)).toBe(
      false,
    );
  });
});

describe("interactionRequired (the decision)", () => {
  it("is undefined when the session may prompt", () => {
    expect(
      interactionRequired({ serverUrl: SERVER_URL, config: { interaction: "allowed" } }),
    ).toBeUndefined();
  });

  it("names the server URL and no issuer when nothing was discovered; no scope reads as the defaults", () => {
    const error = interactionRequired({ serverUrl: SERVER_URL, config: { interaction: "never" } });
    expect(error).toMatchObject({ resource: SERVER_URL, issuer: undefined, scopes: [] });
    expect(error?.message).toContain("consent needed at the authorization server for its default");
  });
});
