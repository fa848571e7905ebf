/**
 * The behaviours of issue 3, each driven through the real machine: createActor over
 * `authMachine.provide({ actors })` with scripted step actors and a simulated clock, observing
 * the snapshots, the step actors' inputs, and the emitted `challenge.answered` and `trace` events.
 */
import { describe, expect, it } from "vitest";
import { AuthorizationDenied } from "../../src/errors.js";
import { proactiveRefreshAt, refreshAheadAt } from "../../src/machine/decisions.js";
import type {
  AuthConfig,
  ClientInfo,
  ResourceInfo,
  Scopes,
  TokenInfo,
} from "../../src/machine/model.js";
import {
  authServerInfo,
  challenge,
  clientInfo,
  type Driven,
  drive,
  FAR_FUTURE,
  failures,
  flush,
  grantFor,
  ISSUER,
  input,
  insufficientScope403,
  LONG_AGO,
  resourceInfo,
  tokenInfo,
  unauthorized401,
} from "./scripted.js";

interface FlowOptions {
  readonly resource?: ResourceInfo;
  readonly client?: ClientInfo;
  /** What the authorization server grants of what was asked (default: all of it). */
  readonly grant?: (requested: Scopes) => Scopes;
  readonly token?: Partial<TokenInfo>;
}

/** Settles every step of a flow in progress with realistic outputs, up to the token. */
const completeFlow = async (d: Driven, options: FlowOptions = {}) => {
  if (d.script.running("discoverResource")) {
    await d.resolve("discoverResource", options.resource ?? resourceInfo());
  }
  if (d.script.running("discoverAuthServer")) {
    await d.resolve(
      "discoverAuthServer",
      authServerInfo(d.running("discoverAuthServer").input.issuer),
    );
  }
  if (d.script.running("register")) {
    await d.resolve(
      "register",
      options.client ?? clientInfo("dynamic", d.running("register").input.authServer.issuer),
    );
  }
  const { scopes, client, authServer } = d.running("authorize").input;
  const { clientId } = client;
  const { issuer } = authServer;
  await d.resolve("authorize", grantFor(scopes, clientId));
  const granted = options.grant ? options.grant(scopes) : scopes;
  await d.resolve(
    "exchangeCode",
    tokenInfo({ issuer, clientId, version: d.nextVersion(), scopes: granted, ...options.token }),
  );
};

/** A session that got its first token after a 401 without a token. */
const authorizedSession = async (
  config: Partial<AuthConfig> = {},
  options: FlowOptions & { readonly challengeScope?: Scopes } = {},
) => {
  const d = drive(input(config));
  d.send(challenge({ status: 401, scope: options.challengeScope ?? ["read"] }, undefined, "first"));
  await completeFlow(d, options);
  expect(d.value()).toBe("authorized");
  return d;
};

/** A session restored from the store with a usable token (behaviour 9). */
const restoredSession = (
  token: Partial<TokenInfo> = {},
  config: Partial<AuthConfig> = {},
  client: ClientInfo = clientInfo("dynamic"),
) =>
  drive(
    input(config, {
      resource: resourceInfo(["read", "write"]),
      authServer: authServerInfo(),
      client,
      token: tokenInfo({ clientId: client.clientId, ...token }),
    }),
  );

const answer = (d: Driven, requestId: string) => d.answers(requestId).map((a) => a.outcome);
const decisions = (d: Driven) => d.traces().map((t) => t.decision);

describe("1. first request without a token", () => {
  it("401 → discover → register → authorize → exchange → authorized; the request waits, then retries", async () => {
    const d = drive(input());
    expect(d.value()).toBe("unauthorized");
    d.send(unauthorized401(undefined, "req"));
    expect(answer(d, "req")).toEqual(["wait"]);
    expect(d.at()).toBe("obtaining.resourceMetadata");
    await d.resolve("discoverResource", resourceInfo(["read", "write"]));
    expect(d.at()).toBe("obtaining.authServerMetadata");
    await d.resolve("discoverAuthServer", authServerInfo());
    expect(d.at()).toBe("obtaining.registering");
    expect(d.running("register").input.scopes).toEqual(["read", "write", "offline_access"]);
    await d.resolve("register", clientInfo("dynamic"));
    expect(d.at()).toBe("obtaining.authorizing");
    expect(d.running("authorize").input).toMatchObject({
      client: { clientId: "dyn-client" },
      scopes: ["read", "write", "offline_access"],
    });
    await d.resolve("authorize", grantFor(["read", "write", "offline_access"]));
    expect(d.at()).toBe("obtaining.exchangingCode");
    await d.resolve("exchangeCode", tokenInfo({ scopes: ["read", "write", "offline_access"] }));
    expect(d.value()).toBe("authorized");
    expect(d.context().token).toMatchObject({ version: 1, obtainedBy: "authorization" });
    expect(decisions(d)).toEqual([
      "discover",
      "grant",
      "resource metadata",
      "scopes",
      "client",
      "authorize",
      "token",
    ]);
  });

  it("uses the challenge's resource_metadata and scope", async () => {
    const d = drive(input());
    d.send(challenge({ status: 401, scope: ["files:read"], resourceMetadata: "https://x/prm" }));
    expect(d.running("discoverResource").input.resourceMetadataUrl).toBe("https://x/prm");
    await d.resolve("discoverResource", resourceInfo(["read", "write"]));
    await d.resolve("discoverAuthServer", authServerInfo());
    await d.resolve("register", clientInfo("dynamic"));
    expect(d.running("authorize").input.scopes).toEqual(["files:read", "offline_access"]);
  });

  it("falls back to the 2025-03-26 layout when no resource metadata exists", async () => {
    const d = drive(input());
    d.send(unauthorized401());
    await d.reject("discoverResource", failures.resourceMetadataNotFound);
    expect(d.running("discoverAuthServer").input).toEqual({
      issuer: "https://mcp.example.com",
      forAuthorizationCode: true,
      legacyServerUrl: "https://mcp.example.com/mcp",
    });
  });
});

describe("2. 403 insufficient_scope: step-up, never a refresh", () => {
  it("authorizes again for granted ∪ challenged scopes although a refresh token is held", async () => {
    const d = restoredSession({ version: 4, scopes: ["read"], hasRefreshToken: true });
    expect(d.value()).toBe("authorized");
    d.send(insufficientScope403(["write"], 4, "req"));
    expect(d.at()).toBe("obtaining.authorizing");
    expect(answer(d, "req")).toEqual(["wait"]);
    expect(d.running("authorize").input.scopes).toEqual(["read", "write"]);
    expect(d.script.callsOf("refreshToken")).toHaveLength(0);
    expect(d.traces().find((t) => t.decision === "step-up")?.reason).toContain(
      "a refresh token is held and deliberately not used",
    );
    await d.resolve("authorize", grantFor(["read", "write"]));
    await d.resolve("exchangeCode", tokenInfo({ version: 5, scopes: ["read", "write"] }));
    expect(d.value()).toBe("authorized");
    expect(d.context().token?.scopes).toEqual(["read", "write"]);
    expect(d.script.callsOf("refreshToken")).toHaveLength(0);
  });

  it("N concurrent 403s for the same scope make one authorization (behaviour 7)", async () => {
    const d = restoredSession({ version: 1, scopes: ["read"] });
    for (const id of ["a", "b", "c", "d"]) d.send(insufficientScope403(["write"], 1, id));
    expect(d.script.callsOf("authorize")).toHaveLength(1);
    for (const id of ["a", "b", "c", "d"]) expect(answer(d, id)).toEqual(["wait"]);
  });

  it("a step-up nobody waits for any more is cancelled back to the token still held (behaviour 10)", async () => {
    const d = restoredSession({ version: 1 });
    d.send(insufficientScope403(["write"], 1));
    d.send({ type: "flow.cancel" });
    expect(d.value()).toBe("authorized");
    expect(d.context().token?.version).toBe(1);
    expect(d.script.running("authorize")).toBeUndefined();
    expect(d.script.callsOf("authorize")[0]?.signal.aborted).toBe(true);
  });
});

describe("3. refresh", () => {
  it("proactive: the refreshDue delay fires before expiry and refreshes", async () => {
    const d = restoredSession({ version: 1, expiresAt: LONG_AGO });
    expect(d.value()).toBe("authorized");
    // Only a token in use is refreshed ahead of expiry: an idle one waits for a request.
    d.elapse();
    expect(d.value()).toBe("authorized");
    d.send({ type: "token.accepted", tokenVersion: 1 });
    d.elapse();
    expect(d.value()).toBe("refreshing");
    expect(d.running("refreshToken").input.reason).toBe("proactive");
    await d.resolve("refreshToken", tokenInfo({ version: 2, obtainedBy: "refresh" }));
    expect(d.value()).toBe("authorized");
    expect(d.context().token?.version).toBe(2);
  });

  it("never loops: a refresh that failed for good is not retried ahead of time (only a request asks again)", async () => {
    const d = restoredSession({ version: 1, expiresAt: LONG_AGO });
    d.send({ type: "token.accepted", tokenVersion: 1 });
    d.elapse();
    await d.reject("refreshToken", failures.refreshUnauthorizedClient);
    expect(d.value()).toBe("authorized");
    for (let tick = 0; tick < 5; tick++) d.elapse();
    expect(d.script.callsOf("refreshToken")).toHaveLength(1);
    // a request that meets the expired token still gets its one attempt
    d.send({ type: "token.expired", requestId: "needs-it", tokenVersion: 1 });
    expect(d.value()).toBe("refreshing");
  });

  it("never loops: a token whose lifetime is shorter than the skew is refreshed a tenth of its life ahead, not at once", () => {
    const now = Date.now();
    const d = restoredSession(
      { version: 1, obtainedAt: now, expiresAt: now + 10_000 },
      { refreshSkewMillis: 60_000 },
    );
    expect(proactiveRefreshAt(d.context())).toBeUndefined(); // not in use yet
    d.send({ type: "token.accepted", tokenVersion: 1 });
    expect(proactiveRefreshAt(d.context())).toBe(now + 8_000);
    expect(d.value()).toBe("authorized");
  });

  it("refreshes ahead by a tenth of a short lifetime, the skew for a long one, never under 2 s nor over half the lifetime", () => {
    const at = (lifetime: number, skew = 60_000) =>
      refreshAheadAt(
        {
          resource: "https://mcp.example/mcp",
          issuer: "https://as.example",
          clientId: "c",
          version: 1,
          scopes: [],
          hasRefreshToken: true,
          obtainedAt: 0,
          expiresAt: lifetime,
          obtainedBy: "authorization",
        },
        { refreshSkewMillis: skew, refreshAheadFraction: 0.1 },
      );
    expect(at(3_600_000)).toBe(3_540_000); // the skew
    expect(at(300_000)).toBe(270_000); // a tenth
    expect(at(20_000)).toBe(18_000);
    expect(at(10_000)).toBe(8_000); // never under 2 s (expires_in counts whole seconds)
    expect(at(2_000)).toBe(1_000); // never over half the lifetime
    expect(at(1_050)).toBe(1_000); // never within a second of issue
    expect(at(3_600_000, 5_000)).toBe(3_595_000);
  });

  it("a token far from expiry is not refreshed when the (capped) timer fires", async () => {
    const d = restoredSession({ version: 1, expiresAt: FAR_FUTURE });
    d.elapse();
    expect(d.value()).toBe("authorized");
    expect(d.script.callsOf("refreshToken")).toHaveLength(0);
  });

  it("reactive: a 401 on the current token refreshes once for N concurrent requests; rotation honoured", async () => {
    const d = restoredSession({ version: 1 });
    for (const id of ["a", "b", "c"]) d.send(unauthorized401(1, id));
    expect(d.value()).toBe("refreshing");
    expect(d.script.callsOf("refreshToken")).toHaveLength(1);
    expect(d.running("refreshToken").input.reason).toBe("after-401");
    for (const id of ["a", "b", "c"]) expect(answer(d, id)).toEqual(["wait"]);
    await d.resolve("refreshToken", tokenInfo({ version: 2, obtainedBy: "refresh-after-401" }));
    expect(d.context().token?.version).toBe(2);
  });

  it("an expired token with a refresh token refreshes", async () => {
    const d = restoredSession({ version: 1 });
    d.send({ type: "token.expired", requestId: "req", tokenVersion: 1 });
    expect(d.value()).toBe("refreshing");
    expect(d.running("refreshToken").input.reason).toBe("expired");
  });

  it("invalid_grant drops the token and authorizes again", async () => {
    const d = restoredSession({ version: 1 });
    d.send(unauthorized401(1));
    await d.reject("refreshToken", failures.refreshInvalidGrant);
    expect(d.at()).toBe("obtaining.resourceMetadata");
    expect(d.context().token).toBeUndefined();
  });

  it("transient failures are retried with backoff, maxRefreshRetries times; then the error goes to the waiting requests and the token stays in use", async () => {
    const d = restoredSession({ version: 1 }, { maxRefreshRetries: 3 });
    d.send(unauthorized401(1));
    for (let attempt = 1; attempt <= 3; attempt++) {
      await d.reject(
        "refreshToken",
        attempt === 2 ? failures.tokenEndpoint503 : failures.transport,
      );
      expect(d.value()).toBe("refreshBackoff");
      expect(d.context().refreshFailures).toBe(attempt);
      d.elapse();
      expect(d.value()).toBe("refreshing");
    }
    await d.reject("refreshToken", failures.transport);
    expect(d.value()).toBe("authorized");
    expect(d.context().error?._tag).toBe("TransportError");
    expect(d.context().token?.version).toBe(1);
    expect(d.script.callsOf("refreshToken")).toHaveLength(4);
  });

  it("a non-transient refresh failure ends the refresh at once, with the error for its waiters", async () => {
    const d = restoredSession({ version: 1 });
    d.send(unauthorized401(1));
    await d.reject("refreshToken", failures.refreshUnauthorizedClient);
    expect(d.value()).toBe("authorized");
    expect(d.context().error).toBeDefined();
    expect(d.script.callsOf("refreshToken")).toHaveLength(1);
  });
});

describe("4. loop guard, kept for the session", () => {
  it("allows 3 authorizations (the default) per scope set, then refuses with AuthorizationLoop", async () => {
    const d = await authorizedSession({}, { challengeScope: ["read"] });
    const authorizeCalls = () => d.script.callsOf("authorize").length;
    expect(authorizeCalls()).toBe(1);
    // the server keeps answering 403 insufficient_scope for admin although it is granted
    for (let attempt = 1; attempt <= 3; attempt++) {
      const version = d.context().token?.version;
      d.send(insufficientScope403(["admin"], version, `step-up-${attempt}`));
      expect(d.at()).toBe("obtaining.authorizing");
      await completeFlow(d);
    }
    expect(authorizeCalls()).toBe(4);
    d.send(insufficientScope403(["admin"], d.context().token?.version, "again"));
    expect(d.value()).toBe("authorized");
    expect(authorizeCalls()).toBe(4);
    const [refused] = d.answers("again");
    expect(refused).toMatchObject({ outcome: "refused", error: { _tag: "AuthorizationLoop" } });
    expect(refused?.outcome === "refused" && refused.error).toMatchObject({ attempts: 3 });
    // another scope set is still allowed
    d.send(insufficientScope403(["write"], d.context().token?.version, "other"));
    expect(d.at()).toBe("obtaining.authorizing");
  });

  it("a declined scope fails at once with ScopeDeclined naming it, without prompting again", async () => {
    const d = await authorizedSession(
      {},
      {
        challengeScope: ["read", "write"],
        grant: (requested) => requested.filter((s) => s !== "write"),
      },
    );
    expect(d.context().declined).toEqual(["write"]);
    expect(d.traces().at(-1)?.reason).toContain("declined write");
    d.send(insufficientScope403(["write"], d.context().token?.version, "req"));
    expect(d.value()).toBe("authorized");
    expect(d.script.callsOf("authorize")).toHaveLength(1);
    expect(d.answers("req")).toEqual([
      {
        type: "challenge.answered",
        requestId: "req",
        outcome: "refused",
        error: expect.objectContaining({ _tag: "ScopeDeclined", missing: ["write"] }),
      },
    ]);
  });

  it("a denied step-up keeps the token and marks the scope declined; session.authorize for it resets the guard", async () => {
    const d = await authorizedSession({ maxAuthorizationsPerScopeSet: 1 });
    d.send(insufficientScope403(["admin"], 1));
    await d.reject("authorize", failures.deniedAccess);
    expect(d.value()).toBe("authorized");
    expect(d.context().error?._tag).toBe("AuthorizationDenied");
    expect(d.context().token?.version).toBe(1);
    expect(d.context().declined).toContain("admin");
    d.send(insufficientScope403(["admin"], 1, "again"));
    expect(answer(d, "again")).toEqual(["refused"]);
    d.send({ type: "session.authorize", scopes: ["admin"] });
    expect(d.context().authorizations.size).toBe(0);
    expect(d.context().declined).toEqual([]);
    expect(d.at()).toBe("obtaining.resourceMetadata");
  });

  it("a step-up the server could not serve (temporarily_unavailable, server_error, invalid_scope) is no decline: asked again later", async () => {
    for (const error of ["temporarily_unavailable", "server_error", "invalid_scope"]) {
      const d = await authorizedSession();
      d.send(insufficientScope403(["admin"], 1));
      await d.reject("authorize", new AuthorizationDenied({ error }));
      expect(d.value()).toBe("authorized");
      expect(d.context().declined).toEqual([]);
      d.send(insufficientScope403(["admin"], 1, "later"));
      expect(answer(d, "later"), error).toEqual(["wait"]);
      expect(d.at()).toBe("obtaining.authorizing");
    }
  });

  it("session.authorize after a failure without a token resets the loop guard", async () => {
    const d = drive(input({ maxAuthorizationsPerScopeSet: 1 }));
    d.send(unauthorized401());
    await d.resolve("discoverResource", resourceInfo(["read"]));
    await d.resolve("discoverAuthServer", authServerInfo());
    await d.resolve("register", clientInfo("dynamic"));
    await d.reject("authorize", failures.deniedAccess);
    expect(d.value()).toEqual({ failed: "coolingDown" });
    d.send({ type: "session.authorize" });
    expect(d.context().authorizations.size).toBe(0);
    expect(d.at()).toBe("obtaining.resourceMetadata");
  });
});

describe("5. scopes from scopes_supported refused with invalid_scope", () => {
  const fromSupported = async () => {
    const d = drive(input({ offlineAccess: false }));
    d.send(unauthorized401());
    await d.resolve("discoverResource", resourceInfo(["read", "write"]));
    await d.resolve("discoverAuthServer", authServerInfo());
    await d.resolve("register", clientInfo("dynamic"));
    expect(d.running("authorize").input.scopes).toEqual(["read", "write"]);
    return d;
  };

  it("at the authorization endpoint: authorizes once more without a scope parameter", async () => {
    const d = await fromSupported();
    await d.reject("authorize", failures.deniedInvalidScope);
    expect(d.at()).toBe("obtaining.authorizing");
    expect(d.running("authorize").input.scopes).toEqual([]);
    expect(d.context().scopes?.origin).toBe("without-scope");
    // only once
    await d.reject("authorize", failures.deniedInvalidScope);
    expect(d.value()).toEqual({ failed: "coolingDown" });
    expect(d.context().error).toMatchObject({
      _tag: "AuthorizationDenied",
      error: "invalid_scope",
    });
    expect(d.script.callsOf("authorize")).toHaveLength(2);
  });

  it("the refused scopes are dropped for the session: not asked for again in a step-up or a re-authorization", async () => {
    const d = await fromSupported();
    await d.reject("authorize", failures.deniedInvalidScope);
    await d.resolve("authorize", grantFor([]));
    await d.resolve("exchangeCode", tokenInfo({ scopes: ["read"], hasRefreshToken: false }));
    expect(d.value()).toBe("authorized");
    expect(d.context().refused).toEqual(["write"]);
    // a step-up for admin asks for what is held and what is challenged, not the refused write
    d.send(insufficientScope403(["admin"], 1));
    expect(d.running("authorize").input.scopes).toEqual(["read", "admin"]);
    await d.resolve("authorize", grantFor(["read", "admin"]));
    await d.resolve(
      "exchangeCode",
      tokenInfo({ version: 2, scopes: ["read", "admin"], hasRefreshToken: false }),
    );
    // a re-authorization after a 401 does not bring write back either
    d.send(unauthorized401(2));
    await d.resolve("discoverResource", resourceInfo(["read", "write"]));
    await d.resolve("discoverAuthServer", authServerInfo());
    await d.resolve("register", clientInfo("dynamic"));
    expect(d.running("authorize").input.scopes).not.toContain("write");
    expect(d.running("authorize").input.scopes).toEqual(expect.arrayContaining(["read", "admin"]));
  });

  it("at the token endpoint: authorizes once more without a scope parameter", async () => {
    const d = await fromSupported();
    await d.resolve("authorize", grantFor(["read", "write"]));
    await d.reject("exchangeCode", failures.tokenInvalidScope);
    expect(d.at()).toBe("obtaining.authorizing");
    expect(d.running("authorize").input.scopes).toEqual([]);
  });

  it("never drops scopes the challenge asked for", async () => {
    const d = drive(input());
    d.send(challenge({ status: 401, scope: ["read"] }));
    await d.resolve("discoverResource", resourceInfo(["read", "write"]));
    await d.resolve("discoverAuthServer", authServerInfo());
    await d.resolve("register", clientInfo("dynamic"));
    await d.reject("authorize", failures.deniedInvalidScope);
    expect(d.value()).toEqual({ failed: "coolingDown" });
    expect(d.script.callsOf("authorize")).toHaveLength(1);
  });

  it("never drops scopes the application configured", async () => {
    const d = drive(input({ configuredScopes: ["app"] }));
    d.send({ type: "session.authorize" });
    await d.resolve("discoverResource", resourceInfo(["read", "write"]));
    await d.resolve("discoverAuthServer", authServerInfo());
    await d.resolve("register", clientInfo("dynamic"));
    expect(d.running("authorize").input.scopes).toContain("app");
    await d.reject("authorize", failures.deniedInvalidScope);
    expect(d.value()).toEqual({ failed: "coolingDown" });
  });
});

describe("6. invalid_client on a dynamically registered client", () => {
  it("forgets the registration and registers once more — only once", async () => {
    const d = drive(input());
    d.send(unauthorized401());
    await d.resolve("discoverResource", resourceInfo());
    await d.resolve("discoverAuthServer", authServerInfo());
    await d.resolve("register", clientInfo("dynamic"));
    await d.resolve("authorize", grantFor([]));
    await d.reject("exchangeCode", failures.tokenInvalidClient);
    expect(d.at()).toBe("obtaining.registering");
    expect(d.running("register").input.forgetStored).toBe(true);
    expect(d.context().client).toBeUndefined();
    await d.resolve("register", clientInfo("dynamic"));
    await d.resolve("authorize", grantFor([]));
    await d.reject("exchangeCode", failures.tokenInvalidClient);
    expect(d.value()).toEqual({ failed: "coolingDown" });
    expect(d.context().error).toMatchObject({ _tag: "TokenRejected", code: "invalid_client" });
    expect(d.script.callsOf("register")).toHaveLength(2);
  });

  it("a pre-registered client is never re-registered", async () => {
    const d = drive(input());
    d.send(unauthorized401());
    await d.resolve("discoverResource", resourceInfo());
    await d.resolve("discoverAuthServer", authServerInfo());
    await d.resolve("register", clientInfo("pre-registered"));
    await d.resolve("authorize", grantFor([], "static-client"));
    await d.reject("exchangeCode", failures.tokenInvalidClient);
    expect(d.value()).toEqual({ failed: "coolingDown" });
    expect(d.script.callsOf("register")).toHaveLength(1);
  });

  it("also when the refresh grant meets invalid_client", async () => {
    const d = restoredSession({ version: 1 });
    d.send(unauthorized401(1));
    await d.reject("refreshToken", failures.refreshInvalidClient);
    // Through discovery: a restored session may lack metadata and has no scope plan yet.
    expect(d.at()).toBe("obtaining.resourceMetadata");
    expect(d.context().token).toBeUndefined();
    await d.resolve("discoverResource", resourceInfo(["read", "write"]));
    await d.resolve("discoverAuthServer", authServerInfo());
    expect(d.running("register").input.forgetStored).toBe(true);
    // The restored grant's scopes are asked for again, not dropped.
    expect(d.running("register").input.scopes).toEqual(expect.arrayContaining(["read"]));
  });
});

describe("7. rejected-token attribution", () => {
  it("a 401 on an older token is answered retry, with no refresh and no authorization", async () => {
    const d = restoredSession({ version: 2 });
    d.send(unauthorized401(1, "old"));
    expect(answer(d, "old")).toEqual(["retry"]);
    expect(d.value()).toBe("authorized");
    expect(d.script.calls).toHaveLength(0);
    expect(decisions(d)).toContain("retry");
  });

  it("a 403 or an expiry seen with an older token is answered retry too", async () => {
    const d = restoredSession({ version: 2 });
    d.send(insufficientScope403(["write"], 1, "old-403"));
    d.send({ type: "token.expired", requestId: "old-expired", tokenVersion: 1 });
    expect(answer(d, "old-403")).toEqual(["retry"]);
    expect(answer(d, "old-expired")).toEqual(["retry"]);
    expect(d.script.calls).toHaveLength(0);
  });
});

describe("T9. a token that a refresh after a 401 produced", () => {
  const refreshedAfter401 = async () => {
    const d = restoredSession({ version: 1 });
    d.send(unauthorized401(1));
    const { reason } = d.running("refreshToken").input;
    // what the real actor does: the token remembers it came from a refresh after a 401
    await d.resolve(
      "refreshToken",
      tokenInfo({
        version: 2,
        obtainedBy: reason === "after-401" ? "refresh-after-401" : "refresh",
      }),
    );
    expect(d.context().token?.obtainedBy).toBe("refresh-after-401");
    return d;
  };

  it("gets 401 → re-authorize, not a second refresh", async () => {
    const d = await refreshedAfter401();
    d.send(unauthorized401(2, "again"));
    expect(d.at()).toBe("obtaining.resourceMetadata");
    expect(d.context().token).toBeUndefined();
    expect(answer(d, "again")).toEqual(["wait"]);
    expect(d.script.callsOf("refreshToken")).toHaveLength(1);
    expect(d.traces().find((t) => t.decision === "re-authorize")?.reason).toContain(
      "before it was ever accepted",
    );
  });

  it("once accepted by the server, a later 401 may refresh again", async () => {
    const d = await refreshedAfter401();
    d.send({ type: "token.accepted", tokenVersion: 2 });
    d.send(unauthorized401(2));
    expect(d.value()).toBe("refreshing");
  });
});

describe("10. cancellation and the browser step's timeout", () => {
  it("the authorization times out after authorizationTimeout", async () => {
    const d = drive(input({ authorizationTimeoutMillis: 1_000 }));
    d.send(unauthorized401());
    await d.resolve("discoverResource", resourceInfo());
    await d.resolve("discoverAuthServer", authServerInfo());
    await d.resolve("register", clientInfo("dynamic"));
    const browser = d.running("authorize");
    d.clock.increment(999);
    expect(d.at()).toBe("obtaining.authorizing");
    d.clock.increment(1);
    expect(d.value()).toEqual({ failed: "coolingDown" });
    expect(d.context().error).toMatchObject({ _tag: "AuthorizationTimeout", timeoutMillis: 1_000 });
    expect(browser.signal.aborted).toBe(true);
  });

  it("flow.cancel without a token stops the flow and aborts the running step", async () => {
    const d = drive(input());
    d.send(unauthorized401());
    const step = d.running("discoverResource");
    d.send({ type: "flow.cancel" });
    expect(d.value()).toBe("unauthorized");
    expect(d.context().error?._tag).toBe("FlowCancelled");
    expect(step.signal.aborted).toBe(true);
  });

  it("session.logout forgets the session from any state", async () => {
    const d = restoredSession({ version: 1 });
    d.send(unauthorized401(1));
    d.send({ type: "session.logout" });
    expect(d.value()).toBe("unauthorized");
    expect(d.context().token).toBeUndefined();
    expect(d.context().client).toBeUndefined();
  });
});

describe("11. credentials bound to the issuer", () => {
  it("a resource that now names another authorization server is registered there afresh", async () => {
    const d = restoredSession({ version: 1, hasRefreshToken: false });
    d.send(unauthorized401(1));
    await d.resolve("discoverResource", {
      ...resourceInfo(),
      authorizationServer: "https://other-as.example.com",
    });
    expect(d.running("discoverAuthServer").input.issuer).toBe("https://other-as.example.com");
    await d.resolve("discoverAuthServer", authServerInfo("https://other-as.example.com"));
    expect(d.flowContext()?.client).toBeUndefined();
    expect(d.running("register").input.authServer.issuer).toBe("https://other-as.example.com");
  });
});

describe("challenges the session passes on", () => {
  it("a 403 that asks for no scope is refused with AccessForbidden: nothing to refresh or authorize", async () => {
    const d = await authorizedSession();
    d.send(challenge({ status: 403, error: "access_denied" }, 1, "plain-403"));
    expect(answer(d, "plain-403")).toEqual(["refused"]);
    expect(d.answers("plain-403")[0]).toMatchObject({
      error: { _tag: "AccessForbidden", status: 403 },
    });
    expect(d.value()).toBe("authorized");
    expect(d.script.callsOf("refreshToken")).toHaveLength(0);
  });

  it("the 401 loop guard judges the new challenge's scopes, not the previous flow's", async () => {
    const d = await authorizedSession(
      { maxAuthorizationsPerScopeSet: 1, offlineAccess: false },
      { challengeScope: ["read"], token: { hasRefreshToken: false } },
    );
    d.send(challenge({ status: 401, scope: ["write"] }, 1, "needs-write"));
    expect(answer(d, "needs-write")).toEqual(["wait"]);
    expect(d.at()).toBe("obtaining.resourceMetadata");
  });
});

describe("2. step-up when the metadata is not current", () => {
  it("restored past the metadata's time to live: discovers first, then authorizes for the union (never a refresh)", async () => {
    const d = drive(
      input(
        { offlineAccess: false },
        {
          resource: resourceInfo(["read", "write"]),
          client: clientInfo("dynamic"),
          token: tokenInfo({ scopes: ["read"] }),
        },
      ),
    );
    expect(d.value()).toBe("authorized");
    d.send(insufficientScope403(["write"], 1, "needs-write"));
    expect(answer(d, "needs-write")).toEqual(["wait"]);
    expect(d.at()).toBe("obtaining.resourceMetadata");
    await d.resolve("discoverResource", resourceInfo(["read", "write"]));
    await d.resolve("discoverAuthServer", authServerInfo());
    await d.resolve("register", clientInfo("dynamic"));
    expect(d.running("authorize").input.scopes).toEqual(expect.arrayContaining(["read", "write"]));
    expect(d.running("authorize").input.authServer.issuer).toBe(ISSUER);
    expect(d.script.callsOf("refreshToken")).toHaveLength(0);
  });
});

describe("4. the loop guard also bounds the session", () => {
  it("a server that asks for a new scope on every 403 gets at most maxAuthorizationsPerSession prompts", async () => {
    const d = await authorizedSession({ maxAuthorizationsPerSession: 4 });
    for (let i = 0; i < 10; i++) {
      const version = d.context().token?.version;
      d.send(insufficientScope403([`scope-${i}`], version, `grow-${i}`));
      if (d.at() !== "obtaining.authorizing") break;
      await completeFlow(d);
    }
    expect(d.script.callsOf("authorize")).toHaveLength(4);
    expect(d.answers(`grow-3`)[0]).toMatchObject({
      outcome: "refused",
      error: { _tag: "AuthorizationLoop" },
    });
  });

  it("an authorization timeout while a token is held keeps the token (a step-up nobody finished)", async () => {
    const d = await authorizedSession();
    d.send(insufficientScope403(["write"], 1, "step"));
    expect(d.at()).toBe("obtaining.authorizing");
    d.elapse();
    expect(d.value()).toBe("authorized");
    expect(d.context().error?._tag).toBe("AuthorizationTimeout");
    expect(d.context().token?.version).toBe(1);
  });
});

describe("6. re-registration is once per flow, not once per session", () => {
  it("after a flow that re-registered got its token, a later flow reuses the stored client", async () => {
    const d = drive(input());
    d.send(unauthorized401());
    await d.resolve("discoverResource", resourceInfo(["read"]));
    await d.resolve("discoverAuthServer", authServerInfo());
    await d.resolve("register", clientInfo("dynamic"));
    await d.resolve("authorize", grantFor(["read"]));
    await d.reject("exchangeCode", failures.tokenInvalidClient);
    expect(d.running("register").input.forgetStored).toBe(true);
    await completeFlow(d);
    expect(d.context().reregistered).toBe(false);
  });
});

describe("the metadata's time to live applies in a running session", () => {
  const session = (ageMillis: number) =>
    drive(
      input(
        { metadataTtlMillis: 60_000 },
        {
          resource: resourceInfo(["read", "write"]),
          authServer: { ...authServerInfo(), discoveredAt: Date.now() - ageMillis },
          client: clientInfo("dynamic"),
          token: tokenInfo({ version: 1 }),
        },
      ),
    );

  it("within it, a step-up goes straight to the authorization request", () => {
    const d = session(1_000);
    d.send(insufficientScope403(["write"], 1, "up"));
    expect(d.at()).toBe("obtaining.authorizing");
  });

  it("past it, a step-up discovers first and a refresh is given no metadata to trust", () => {
    const d = session(120_000);
    d.send(insufficientScope403(["write"], 1, "up"));
    expect(d.at()).toBe("obtaining.resourceMetadata");
    const r = session(120_000);
    r.send(unauthorized401(1, "expired"));
    expect(r.value()).toBe("refreshing");
    expect(r.running("refreshToken").input.authServer).toBeUndefined();
  });
});

describe("grants without a user renew after every expiry: a token that worked ends the loop", () => {
  it("client_credentials: expiry after expiry, one token request each, never AuthorizationLoop", async () => {
    const d = drive(input({ grant: "client_credentials", maxAuthorizationsPerScopeSet: 2 }));
    d.send(unauthorized401(undefined, "first"));
    await d.resolve("discoverResource", resourceInfo(["read"]));
    await d.resolve("discoverAuthServer", authServerInfo());
    for (let version = 1; version <= 5; version++) {
      await d.resolve(
        "requestClientCredentials",
        tokenInfo({ version, hasRefreshToken: false, clientId: "static-client" }),
      );
      expect(d.value()).toBe("authorized");
      d.send({ type: "token.accepted", tokenVersion: version, proven: true });
      d.send({ type: "token.expired", requestId: `expired-${version}`, tokenVersion: version });
      expect(answer(d, `expired-${version}`)).toEqual(["wait"]);
    }
    expect(d.script.callsOf("requestClientCredentials")).toHaveLength(6);
  });

  it("a token that never worked keeps counting: the budget still stops a server that refuses every token", async () => {
    const d = drive(input({ grant: "client_credentials", maxAuthorizationsPerScopeSet: 2 }));
    d.send(unauthorized401(undefined, "first"));
    await d.resolve("discoverResource", resourceInfo(["read"]));
    await d.resolve("discoverAuthServer", authServerInfo());
    await d.resolve("requestClientCredentials", tokenInfo({ version: 1, hasRefreshToken: false }));
    d.send(unauthorized401(1, "again"));
    await d.resolve("requestClientCredentials", tokenInfo({ version: 2, hasRefreshToken: false }));
    d.send(unauthorized401(2, "third"));
    expect(answer(d, "third")).toEqual(["refused"]);
  });

  it("the authorization code keeps its budget even for tokens that worked: a user is not prompted without bound", async () => {
    const d = await authorizedSession(
      { maxAuthorizationsPerScopeSet: 1, offlineAccess: false },
      { token: { hasRefreshToken: false } },
    );
    d.send({ type: "token.accepted", tokenVersion: 1, proven: true });
    d.send(unauthorized401(1, "again"));
    expect(answer(d, "again")).toEqual(["refused"]);
  });
});

describe("device authorization: the user code step is bounded too", () => {
  it("a presenter that never returns ends with AuthorizationTimeout, the request released", async () => {
    const d = drive(input({ grant: "device_code" }));
    d.send(unauthorized401(undefined, "tv"));
    await d.resolve("discoverResource", resourceInfo(["read"]));
    await d.resolve("discoverAuthServer", authServerInfo());
    await d.resolve("register", clientInfo("dynamic"));
    expect(d.at()).toBe("obtaining.requestingUserCode");
    d.elapse();
    await flush();
    expect(d.value()).toEqual({ failed: "coolingDown" });
    expect(d.context().error?._tag).toBe("AuthorizationTimeout");
  });
});
