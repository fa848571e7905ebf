/**
 * The event model for path generation over `authMachine`, the lifecycle: for any snapshot, the
 * events the world can send it — domain events, the flow's reports and outcomes (success, each
 * kind of failure the lifecycle tells apart, a defect), the refresh's completion and failures,
 * and the `after` timers. xstate/graph offers only the events a snapshot's state nodes accept.
 */
import type { AnyEventObject, AnyStateNode, AnyTransitionDefinition } from "xstate";
import { planFor, scopeFactsOf } from "../../src/machine/decisions.js";
import { AuthorizationLoop, InteractionRequired, StepDefect } from "../../src/machine/errors.js";
import type { FlowOutput } from "../../src/machine/flows/flow.js";
import type { Scopes, TokenInfo } from "../../src/machine/model.js";
import {
  type AuthSnapshot,
  authServerInfo,
  clientInfo,
  FAR_FUTURE,
  failures,
  ISSUER,
  LONG_AGO,
  RESOURCE,
  resourceInfo,
  type StepId,
} from "./scripted.js";

export type ModelEvent = AnyEventObject;

/** The completion of an invoked actor, as xstate sends it. */
export const done = (id: StepId, output: unknown): AnyEventObject => ({
  type: `xstate.done.actor.${id}`,
  actorId: id,
  output,
});

/** The failure of an invoked actor, as xstate sends it. */
export const failed = (id: StepId, error: unknown): AnyEventObject => ({
  type: `xstate.error.actor.${id}`,
  actorId: id,
  error,
});

/** What the authorization server grants when no scope parameter was sent: its default. */
const DEFAULT_GRANT: Scopes = ["read"];

/** The `after` events of every state node (xstate names them xstate.after.<delay>.<node id>). */
const afterEvents = (snapshot: AuthSnapshot): AnyEventObject[] =>
  snapshot._nodes.flatMap((node: AnyStateNode) =>
    node.after.map((t: AnyTransitionDefinition) => ({ type: t.eventType })),
  );

/**
 * What a snapshot is, for path generation: its state value and the part of its context that
 * decides what happens next — guards, delays and the outputs the steps give. Data no later
 * decision reads (the error outside `failed`, the pending grant, URLs that never change) is left
 * out, so the graph stays finite and small; the replay checks the same projection step by step,
 * so a projection that forgot something would make a path diverge and fail.
 */
export const abstractState = (snapshot: AuthSnapshot) => {
  const c = snapshot.context;
  const inFailed = snapshot.matches("failed");
  const refreshingNow = snapshot.matches("refreshing") || snapshot.matches("refreshBackoff");
  return {
    value: snapshot.value,
    status: snapshot.status,
    configuredScopes: c.config.configuredScopes,
    challengeScope: c.challenge?.scope,
    resource: c.resource && {
      as: c.resource.authorizationServer,
      scopesSupported: c.resource.scopesSupported,
      legacy: c.resource.legacy,
    },
    issuer: c.authServer?.issuer,
    client: c.client && { issuer: c.client.issuer, kind: c.client.kind },
    token: c.token && {
      issuer: c.token.issuer,
      version: c.token.version,
      scopes: c.token.scopes,
      due: c.token.expiresAt !== undefined && c.token.expiresAt <= Date.now(),
      refresh: c.token.hasRefreshToken,
      by: c.token.obtainedBy,
    },
    scopes: c.scopes,
    requestedSoFar: c.requestedSoFar,
    declined: c.declined,
    refused: c.refused,
    authorizations: Object.fromEntries(c.authorizations),
    failedFlows: c.failedFlows,
    tokenAccepted: c.tokenAccepted,
    tokenProven: c.tokenProven,
    refreshFailures: c.refreshFailures,
    refreshReason: refreshingNow ? c.refreshReason : undefined,
    reregistered: c.reregistered,
    error: inFailed ? c.error?._tag : undefined,
  };
};

export const serializeAbstract = (snapshot: AuthSnapshot): string =>
  JSON.stringify(abstractState(snapshot));

export const modelEvents = (snapshot: AuthSnapshot): ModelEvent[] => {
  const { context } = snapshot;
  const token = context.token;
  const version = token?.version ?? 0;
  const requested = context.scopes?.requested ?? [];
  const granted = requested.length > 0 ? requested : DEFAULT_GRANT;
  const issuer = context.authServer?.issuer ?? context.resource?.authorizationServer ?? ISSUER;
  const clientId = context.client?.clientId ?? "dyn-client";
  const newToken = (overrides: Partial<TokenInfo>): TokenInfo => ({
    issuer,
    clientId,
    resource: context.resource?.resource ?? RESOURCE,
    version: version + 1,
    scopes: granted,
    expiresAt: FAR_FUTURE,
    hasRefreshToken: true,
    obtainedAt: 0,
    obtainedBy: "authorization",
    ...overrides,
  });

  const events: ModelEvent[] = [];
  const add = (...es: ModelEvent[]) => events.push(...es);

  // --- requests that got a challenge or found their token expired (behaviours 1, 2, 3, 7) ---
  if (token === undefined) {
    add(
      {
        type: "challenge.received",
        requestId: "cold",
        challenge: { status: 401, error: "invalid_token" },
      },
      {
        type: "challenge.received",
        requestId: "cold-scoped",
        challenge: { status: 401, scope: ["read"], resourceMetadata: `${RESOURCE}/prm` },
      },
      // a request still holding the token dropped before (logout, invalid_grant)
      { type: "token.expired", requestId: "stale", tokenVersion: 1 },
    );
  } else {
    add(
      {
        type: "challenge.received",
        requestId: "current-401",
        challenge: { status: 401, error: "invalid_token" },
        tokenVersion: version,
      },
      {
        type: "challenge.received",
        requestId: "no-token-401",
        challenge: { status: 401 },
      },
      {
        type: "challenge.received",
        requestId: "step-up-write",
        challenge: { status: 403, error: "insufficient_scope", scope: ["write"] },
        tokenVersion: version,
      },
      {
        type: "challenge.received",
        requestId: "step-up-read",
        challenge: { status: 403, error: "insufficient_scope", scope: ["read"] },
        tokenVersion: version,
      },
      {
        // a step-up whose challenge names other resource metadata (SPEC D8): discover first
        type: "challenge.received",
        requestId: "step-up-moved",
        challenge: {
          status: 403,
          error: "insufficient_scope",
          scope: ["write"],
          resourceMetadata: "https://mcp.example.com/.well-known/oauth-protected-resource/moved",
        },
        tokenVersion: version,
      },
      {
        // a 403 that asks for no scope: refused, nothing authorization can change
        type: "challenge.received",
        requestId: "forbidden",
        challenge: { status: 403, error: "access_denied" },
        tokenVersion: version,
      },
      { type: "token.expired", requestId: "expired", tokenVersion: version },
      // a request with the current token got something other than 401 (SPEC T9)
      { type: "token.accepted", tokenVersion: version },
      { type: "token.accepted", tokenVersion: version, proven: true },
      // another session over the same store refreshed: a newer token is adopted
      { type: "token.adopted", token: newToken({ version: version + 1, obtainedBy: "refresh" }) },
    );
    if (version > 1) {
      add(
        {
          type: "challenge.received",
          requestId: "older-401",
          challenge: { status: 401, error: "invalid_token" },
          tokenVersion: version - 1,
        },
        { type: "token.expired", requestId: "older-expired", tokenVersion: version - 1 },
        { type: "token.accepted", tokenVersion: version - 1 },
      );
    }
  }

  // --- the application ---
  add(
    { type: "session.authorize" },
    { type: "session.authorize", scopes: ["write"] },
    { type: "session.logout" },
    { type: "flow.cancel" },
  );

  // --- the flow (one scripted step here; its own coverage is flow-coverage.test.ts) ---
  if (snapshot.matches("obtaining")) {
    const facts = scopeFactsOf(context);
    add(
      { type: "flow.authorizing", plan: planFor(facts), refused: [] },
      {
        type: "flow.trace",
        entry: { type: "trace", decision: "client", reason: "dynamic client dyn-client" },
      },
    );
  }
  const learned = {
    resource: resourceInfo(["read", "write"]),
    authServer: authServerInfo(issuer, ["read", "write"]),
    client: clientInfo("dynamic", issuer),
  };
  const flowDone = (output: FlowOutput) => done("flow", output);
  const plan = context.scopes;
  add(
    // the full grant, with and without a refresh token, and one already due for a refresh
    flowDone({ ok: true, token: newToken({}), plan, learned }),
    flowDone({ ok: true, token: newToken({ hasRefreshToken: false }), plan, learned }),
    flowDone({ ok: true, token: newToken({ expiresAt: LONG_AGO }), plan, learned }),
    // the user denied; the network failed (retryable); the loop guard refused
    flowDone({ ok: false, error: failures.deniedAccess, plan, learned }),
    flowDone({ ok: false, error: failures.transport, plan, learned }),
    flowDone({
      ok: false,
      error: new AuthorizationLoop({
        scopes: [],
        attempts: 1,
        counted: "authorizations for this scope set",
      }),
      plan,
      learned,
    }),
    // a background session needed the user (and found no token in the store)
    flowDone({
      ok: false,
      error: new InteractionRequired({ resource: RESOURCE, issuer, scopes: [...requested] }),
      plan,
      learned,
    }),
    // the flow itself failed (a defect)
    failed("flow", new StepDefect({ step: "authorizationCode", reason: "defect" })),
  );
  // the user declined a scope: granted less than asked for
  if (requested.includes("write")) {
    add(
      flowDone({
        ok: true,
        token: newToken({ scopes: granted.filter((s) => s !== "write") }),
        plan,
        learned,
      }),
    );
  }
  add(
    done(
      "refreshToken",
      newToken({
        scopes: token?.scopes ?? granted,
        obtainedBy: context.refreshReason === "after-401" ? "refresh-after-401" : "refresh",
      }),
    ),
    failed("refreshToken", failures.refreshInvalidGrant),
    failed("refreshToken", failures.refreshInvalidClient),
    failed("refreshToken", failures.transport),
    failed("refreshToken", failures.refreshUnauthorizedClient),
  );

  // --- timers ---
  add(...afterEvents(snapshot));
  // Only an actor that runs can complete or fail: an error event nobody handles would fail the
  // whole actor, which is not something the world can do to the lifecycle.
  const running = new Set(Object.keys(snapshot.children));
  return events.filter(
    (event) =>
      !(
        event.type.startsWith("xstate.done.actor.") || event.type.startsWith("xstate.error.actor.")
      ) || running.has(String((event as { actorId?: unknown }).actorId)),
  );
};
