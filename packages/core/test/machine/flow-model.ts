/**
 * The event model for path generation over the authorization-code flow: for any snapshot, the
 * completions and failures its step actors can give (realistic outputs that depend on the
 * snapshot, and every typed error its guards tell apart) and the browser step's timeout.
 */
import { Redacted } from "effect";
import type { AnyEventObject, AnyStateNode, AnyTransitionDefinition } from "xstate";
import { done, failed } from "./graph-model.js";
import type { FlowSnapshot } from "./scripted.js";
import {
  authServerInfo,
  clientInfo,
  FAR_FUTURE,
  failures,
  grantFor,
  ISSUER,
  RESOURCE,
  resourceInfo,
} from "./scripted.js";

/** Authorization-server metadata that offers the device authorization grant. */
export const deviceAuthServerInfo = (issuer: string = ISSUER) => {
  const info = authServerInfo(issuer, ["read", "write"]);
  return {
    ...info,
    metadata: { ...info.metadata, device_authorization_endpoint: `${issuer}/device/auth` },
  };
};

/** What a flow snapshot is, for path generation: what its guards and outputs depend on. */
export const abstractFlow = (snapshot: FlowSnapshot) => {
  const c = snapshot.context;
  return {
    value: snapshot.value,
    status: snapshot.status,
    resource: c.resource && {
      as: c.resource.authorizationServer,
      scopesSupported: c.resource.scopesSupported,
      legacy: c.resource.legacy,
    },
    issuer: c.authServer?.issuer,
    client: c.client && { issuer: c.client.issuer, kind: c.client.kind },
    plan: c.plan,
    refused: c.refused,
    authorizations: Object.fromEntries(c.authorizations),
    forgetClient: c.forgetClient,
    reregistered: c.reregistered,
    token: c.token?.version,
    error: snapshot.status === "done" ? c.error?._tag : undefined,
  };
};

export const serializeFlow = (snapshot: FlowSnapshot): string =>
  JSON.stringify(abstractFlow(snapshot));

export const flowEvents = (snapshot: FlowSnapshot): AnyEventObject[] => {
  const c = snapshot.context;
  const issuer = c.authServer?.issuer ?? c.resource?.authorizationServer ?? ISSUER;
  const requested = c.plan?.requested ?? [];
  const granted = requested.length > 0 ? requested : ["read"];
  const token = {
    issuer,
    clientId: c.client?.clientId ?? "static-client",
    resource: c.resource?.resource ?? RESOURCE,
    version: 1,
    scopes: granted,
    expiresAt: FAR_FUTURE,
    hasRefreshToken: true,
    obtainedAt: 0,
    obtainedBy: "authorization",
  };
  // Only the step actor that runs can complete or fail (an error event nobody handles would
  // fail the actor, which is not what the world can do to this flow).
  const running = new Set(Object.keys(snapshot.children));
  const isRunning = (event: AnyEventObject) =>
    !event.type.startsWith("xstate.") ||
    event.type.startsWith("xstate.after.") ||
    running.has(String(event.actorId));
  return [
    done("discoverResource", resourceInfo(["read", "write"])),
    done("discoverResource", {
      ...resourceInfo(),
      authorizationServer: "https://other-as.example.com",
    }),
    failed("discoverResource", failures.resourceMetadataNotFound),
    failed("discoverResource", failures.resourceMismatch),
    done(
      "discoverAuthServer",
      authServerInfo(c.resource?.authorizationServer ?? ISSUER, ["read", "write"]),
    ),
    failed("discoverAuthServer", failures.authServerMetadataNotFound),
    // For a headless user agent: a server that offers the device grant too (RFC 8628 §4).
    ...(c.config.preferDeviceFlow
      ? [
          done(
            "discoverAuthServer",
            deviceAuthServerInfo(c.resource?.authorizationServer ?? ISSUER),
          ),
        ]
      : []),
    done("register", clientInfo("dynamic", issuer)),
    done("register", clientInfo("pre-registered", issuer)),
    failed("register", failures.registrationRejected),
    done("authorize", grantFor(requested, c.client?.clientId)),
    failed("authorize", failures.deniedInvalidScope),
    failed("authorize", failures.deniedAccess),
    done("exchangeCode", token),
    failed("exchangeCode", failures.tokenInvalidClient),
    failed("exchangeCode", failures.tokenInvalidScope),
    failed("exchangeCode", failures.tokenInvalidGrant),
    done("requestClientCredentials", token),
    failed("requestClientCredentials", failures.tokenInvalidClient),
    done("requestJwtBearer", token),
    failed("requestJwtBearer", failures.tokenInvalidGrant),
    done("requestIdJag", { assertion: Redacted.make("id-jag"), scopes: granted }),
    failed("requestIdJag", failures.tokenInvalidGrant),
    done("exchangeIdJag", token),
    failed("exchangeIdJag", failures.tokenInvalidGrant),
    done("requestDeviceCode", {
      deviceCode: Redacted.make("device-code"),
      expiresAt: FAR_FUTURE,
      intervalSeconds: 5,
    }),
    failed("requestDeviceCode", failures.transport),
    done("pollDeviceToken", token),
    failed("pollDeviceToken", failures.deniedAccess),
    // A background session looks in the store: a token obtained elsewhere that serves the plan,
    // one that lacks a scope the plan needs (a step-up's), none, a store it cannot read, or no
    // token this session could use there (DPoP).
    done("findStoredToken", {
      token: { ...token, clientId: "dyn-client", scopes: c.plan?.required ?? [] },
      client: clientInfo("dynamic", issuer),
    }),
    ...((c.plan?.required.length ?? 0) > 0
      ? [
          done("findStoredToken", {
            token: { ...token, clientId: "dyn-client", scopes: [] },
            client: clientInfo("dynamic", issuer),
          }),
        ]
      : []),
    done("findStoredToken", undefined),
    failed("findStoredToken", failures.storeFailed),
    failed("findStoredToken", failures.dpopRequiredByResource),
    ...snapshot._nodes.flatMap((node: AnyStateNode) =>
      node.after.map((t: AnyTransitionDefinition) => ({ type: t.eventType })),
    ),
  ].filter(isRunning);
};
