/**
 * The interaction policy (issue 8): a background session (`interaction: "never"`) never starts a
 * step that needs the user. When only the user can help it ends the flow at once — after
 * discovery, before any registration or browser step — with a typed InteractionRequired that
 * names the resource, the authorization server and the scopes; a token held or refreshable keeps
 * serving. Driven through the real machine with scripted steps and a simulated clock.
 */
import { describe, expect, it } from "vitest";
import { interactionRequired } from "../../src/machine/decisions.js";
import { InteractionRequired } from "../../src/machine/errors.js";
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

const refusal = (d: Driven, requestId: string) =>
  d.answers(requestId).find((a) => a.outcome === "refused");
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

describe("a background session (interaction: never)", () => {
  it("a first request ends after discovery with InteractionRequired: resource, issuer, scopes; nothing registered, no browser", async () => {
    const d = drive(input({ ...background, offlineAccess: false }));
    d.send(challenge({ status: 401, scope: ["read"] }, undefined, "first"));
    await discover(d);
    expect(d.value()).toMatchObject({ failed: "coolingDown" });
    const error = d.context().error;
    expect(error).toBeInstanceOf(InteractionRequired);
    expect(error).toMatchObject({ resource: RESOURCE, issuer: ISSUER, scopes: ["read"] });
    expect(error?.message).toBe(
      `consent needed at ${ISSUER} for read on ${RESOURCE}; run an interactive login (authchart login ${RESOURCE})`,
    );
    expect(settledFailures(d).at(-1)?.error._tag).toBe("InteractionRequired");
    expect(d.script.callsOf("register")).toHaveLength(0);
    expect(d.script.callsOf("authorize")).toHaveLength(0);
    // Visible in the trace, with what consent is needed; no authorization was counted.
    const entry = d.traces().find((t) => t.decision === "interaction required");
    expect(entry?.details).toEqual({ resource: RESOURCE, issuer: ISSUER, scopes: ["read"] });
    expect(d.context().authorizations.size).toBe(0);
  });

  it("repeated requests each fail at once with the same error: no new flow, no loop, in the cool-down and after it", async () => {
    const d = drive(input(background));
    d.send(unauthorized401(undefined, "first"));
    await discover(d);
    for (const [i, phase] of ["coolingDown", "ready"].entries()) {
      if (phase === "ready") d.elapse();
      expect(d.value()).toEqual({ failed: phase });
      d.send(unauthorized401(undefined, `again-${i}`));
      expect(refusal(d, `again-${i}`)?.error._tag).toBe("InteractionRequired");
      d.send({ type: "token.expired", requestId: `expired-${i}`, tokenVersion: 1 });
      expect(refusal(d, `expired-${i}`)?.error._tag).toBe("InteractionRequired");
    }
    expect(d.script.callsOf("discoverResource")).toHaveLength(1);
  });

  it("the device grant's user code is not shown either", async () => {
    const d = drive(input({ ...background, grant: "device_code" }));
    d.send(unauthorized401(undefined, "first"));
    await discover(d);
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
    expect(d.at()).toBe("obtaining.resourceMetadata");
    await discover(d);
    expect(d.value()).toEqual({ failed: "coolingDown" });
    expect(d.context().error?._tag).toBe("InteractionRequired");
    expect(d.context().token).toBeUndefined();
    expect(d.script.callsOf("authorize")).toHaveLength(0);
  });

  it("a step-up fails its own request with InteractionRequired for the union; the token stays in use", async () => {
    const d = restored({ ...background, offlineAccess: false }, tokenInfo({ scopes: ["read"] }));
    d.send(insufficientScope403(["write"], 1, "needs-write"));
    // Known, current metadata: no discovery at all.
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
    expect(d.value()).toBe("authorized");
    expect(settledFailures(d)).toHaveLength(2);
    expect(d.context().authorizations.size).toBe(0);
    expect(d.script.callsOf("authorize")).toHaveLength(0);
  });

  it("session.authorize is refused the same way; scopes the token holds are no prompt", async () => {
    const d = restored(background, tokenInfo({ scopes: ["read"] }));
    d.send({ type: "session.authorize", scopes: ["read"] });
    expect(d.emitted.at(-2)).toMatchObject({ type: "settled", outcome: "authorized" });
    d.send({ type: "session.authorize", scopes: ["admin"] });
    await discover(d);
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
