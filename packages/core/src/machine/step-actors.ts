/**
 * The real actors: each runs a step Effect through a ManagedRuntime with the actor's AbortSignal
 * (leaving the state aborts it and interrupts the fiber), and rethrows the typed failure itself
 * so guards can read its `_tag` (runPromise would wrap it).
 */
import { Cause, Clock, Effect, Exit, Option, Redacted } from "effect";
import { fromPromise } from "xstate";
import {
  type ClientSettings,
  type ClientSigningKey,
  defaultRedirectUri,
  findPreRegistered,
} from "../client-settings.js";
import {
  AssertionUnavailable,
  describeDefect,
  InvalidClientConfiguration,
  TokenRejected,
} from "../errors.js";
import { asksForEphemeralPort } from "../protocol/loopback-redirect.js";
import {
  adjustApiRequest,
  adjustTokenRequest,
  formResponseAdjustment,
  preferredAuthMethod,
  userAgentAdjustment,
} from "../quirks/apply.js";
import { resolveQuirks } from "../quirks/match.js";
import type { AppliedAdjustment, ResolvedQuirks } from "../quirks/profile.js";
import type { ClientRegistration, TokenSet } from "../schema/credentials.js";
import { CredentialStore } from "../services/credential-store.js";
import {
  DeviceCodePresenter,
  make as makeDefaultPresenter,
} from "../services/device-code-presenter.js";
import { OAuthHttp } from "../services/http.js";
import type { Randomness } from "../services/randomness.js";
import { clientLockName, tokenLockName, withSessionLock } from "../services/session-lock.js";
import type { UserAgent } from "../services/user-agent.js";
import { authorize } from "../steps/authorize.js";
import { preferredMethodUsable } from "../steps/client-auth.js";
import { clientCredentials } from "../steps/client-credentials.js";
import { pollDeviceToken, requestDeviceAuthorization } from "../steps/device-authorization.js";
import { discoverAuthServer, discoverLegacyAuthServer } from "../steps/discover-auth-server.js";
import { discoverResource, type ResourceMatchPolicy } from "../steps/discover-resource.js";
import { jwtBearerExchange, jwtBearerGrant } from "../steps/jwt-bearer.js";
import { register, resolveClient } from "../steps/register.js";
import { requestIdJag } from "../steps/token-exchange.js";
import { dpopPlan, exchangeCode, refresh } from "../steps/tokens.js";
import type {
  Adjusted,
  AuthorizeActorInput,
  DeviceCodeActorInput,
  DeviceTokenActorInput,
  DirectGrantActorInput,
  DiscoverAuthServerActorInput,
  DiscoverResourceActorInput,
  ExchangeCodeActorInput,
  FindStoredTokenActorInput,
  IdJagGrantActorInput,
  PendingDeviceAuthorization,
  RefreshActorInput,
  RegisterActorInput,
  ResourceDpopRequirement,
  StoredToken,
} from "./actors.js";
import { authMachine } from "./auth-machine.js";
import { StepDefect } from "./errors.js";
import { authorizationCodeFlow } from "./flows/authorization-code.js";
import { clientCredentialsFlow } from "./flows/client-credentials.js";
import { crossAppAccessFlow } from "./flows/cross-app-access.js";
import { deviceAuthorizationFlow } from "./flows/device-authorization.js";
import { jwtBearerFlow } from "./flows/jwt-bearer.js";
import type { AuthServerInfo, ClientInfo, ResourceInfo, TokenInfo } from "./model.js";

/**
 * What the steps need. The optional ones — DeviceCodePresenter (default: printed to stderr) and
 * DPoP (default: off) — are used when the layer provides them.
 */
export type StepServices = OAuthHttp | CredentialStore | UserAgent | Randomness;
/**
 * Where the steps run: a ManagedRuntime over the step services, or anything that runs an Effect of
 * them the same way (a session's own Context, built without a Layer).
 */
export interface StepRuntime {
  readonly runPromiseExit: <A, E>(
    effect: Effect.Effect<A, E, StepServices>,
    options?: { readonly signal?: AbortSignal | undefined },
  ) => Promise<Exit.Exit<A, E>>;
}

export interface StepActorOptions {
  /** The issuer an issuer-less pre-registered client was already used with (a restored session). */
  readonly boundIssuer?: string | undefined;
  readonly settings: ClientSettings;
  readonly resourcePolicy?: ResourceMatchPolicy | undefined;
}

/** An xstate promise actor that runs an Effect; failures keep their tagged type. */
export const effectActor = <I, A, E>(
  step: string,
  runtime: StepRuntime,
  program: (input: I) => Effect.Effect<A, E, StepServices>,
) =>
  fromPromise<A, I>(async ({ input, signal }) => {
    const exit = await runtime.runPromiseExit(program(input), { signal });
    if (Exit.isSuccess(exit)) return exit.value;
    const failure = Cause.failureOption(exit.cause);
    if (Option.isSome(failure)) throw failure.value;
    throw new StepDefect({
      step,
      reason: Cause.isInterruptedOnly(exit.cause)
        ? "interrupted"
        : describeDefect(Option.getOrUndefined(Cause.dieOption(exit.cause))),
    });
  });

export const toTokenInfo = (tokens: TokenSet, obtainedBy: TokenInfo["obtainedBy"]): TokenInfo => ({
  issuer: tokens.key.issuer,
  clientId: tokens.key.clientId,
  resource: tokens.key.resource,
  version: tokens.version,
  scopes: tokens.scopes,
  expiresAt: tokens.expiresAt,
  hasRefreshToken: tokens.refreshToken !== undefined,
  obtainedAt: tokens.obtainedAt,
  obtainedBy,
});

export const makeStepActors = (runtime: StepRuntime, options: StepActorOptions) => {
  // SEP-2352 ("Clarify authorization server binding and migration"): a pre-registered client
  // without an issuer serves the first authorization server it is used with and no other — its
  // secret or key never reaches a second issuer (a resource whose metadata later names another
  // server registers there instead).
  const wildcard = options.settings.preRegistered?.find((c) => c.issuer === undefined);
  let boundIssuer = options.boundIssuer;
  const settingsFor = (issuer: string): ClientSettings =>
    wildcard === undefined || boundIssuer === undefined || boundIssuer === issuer
      ? options.settings
      : {
          ...options.settings,
          preRegistered: options.settings.preRegistered?.filter((c) => c !== wildcard),
        };
  const bindIfWildcard = (issuer: string, clientId: string) => {
    const explicit = options.settings.preRegistered?.some((c) => c.issuer === issuer);
    if (wildcard?.clientId === clientId && !explicit) boundIssuer ??= issuer;
  };
  /** The quirk profile at this issuer (quirks/match.ts), or undefined: no adjustment. */
  const quirksAt = (issuer: string) => resolveQuirks(options.settings.quirks, issuer);
  /**
   * Requests to this issuer's endpoints with the profile's User-Agent, when it sets one: the
   * OAuthHttp the step sees names it on each request.
   */
  const atServer = <A, E, R>(issuer: string, effect: Effect.Effect<A, E, R>) => {
    const agent = userAgentAdjustment(quirksAt(issuer));
    if (agent === undefined) return effect;
    return Effect.flatMap(OAuthHttp, (http) =>
      Effect.provideService(effect, OAuthHttp, {
        policy: http.policy,
        send: (request) =>
          http.send({ ...request, headers: { ...request.headers, "user-agent": agent.value } }),
      }),
    );
  };
  /**
   * Whether a token from this authorization server could be used at the resource, asked before a
   * step that costs something on the way to one — a registration, the browser, a user code, the
   * user's ID token at an identity provider, InteractionRequired: DpopUnsupported or
   * DpopRequiredByResource now (RFC 9449 §5.1, RFC 9728 §2) instead of a step that could only
   * end in it. Sends nothing.
   */
  const tokenUsableThere = (authServer: AuthServerInfo, input: ResourceDpopRequirement) =>
    dpopPlan({
      issuer: authServer.issuer,
      metadata: authServer.metadata,
      resourceRequiringDpop: input.resourceRequiringDpop,
    });
  /**
   * The configured client at this authorization server, for a grant without a user: never a
   * dynamic registration or a metadata document (those are for the authorization code).
   */
  const configuredClientAt = (
    authServer: AuthServerInfo,
    resourceRequiringDpop: string | undefined,
  ) =>
    Effect.gen(function* () {
      const { issuer, metadata } = authServer;
      const settings = settingsFor(issuer);
      const pre = findPreRegistered(settings, issuer);
      if (pre === undefined)
        return yield* new InvalidClientConfiguration({
          reason: `no pre-registered client for ${issuer}`,
        });
      const client = yield* resolveClient(issuer, pre.clientId, settings);
      bindIfWildcard(issuer, client.clientId);
      return {
        issuer,
        metadata,
        client,
        signingKey: signingKeyFor(settings, issuer),
        quirks: quirksAt(issuer),
        resourceRequiringDpop,
      };
    });
  /**
   * A grant's token set with what the profile changed in its request, for the trace: the
   * parameters adjustApiRequest adjusts (for `request`), then client authentication, form-encoded
   * answer and User-Agent (tokenRequestAdjustments).
   */
  const adjustedGrant = (
    context: {
      readonly quirks: ResolvedQuirks | undefined;
      readonly client: ClientRegistration;
      readonly signingKey: ClientSigningKey | undefined;
    },
    request: "client_credentials" | "jwt_bearer",
    parts: { readonly resource: string; readonly scopes: readonly string[] },
    tokens: TokenSet,
  ): Adjusted<TokenInfo> => ({
    ...toTokenInfo(tokens, "authorization"),
    adjustments: tokenRequestAdjustments(
      context.quirks,
      context.client,
      context.signingKey,
      adjustApiRequest(context.quirks, parts, request).adjustments,
    ),
  });
  /** The refresh itself, run under the token's lock (see refreshToken). */
  const refreshUnderLock = (
    input: RefreshActorInput,
    token: TokenInfo,
    obtainedBy: TokenInfo["obtainedBy"],
    noToken: TokenRejected,
  ) =>
    Effect.gen(function* () {
      const store = yield* CredentialStore;
      const held = yield* store.loadTokens(tokenKeyOf(token));
      if (Option.isNone(held)) return yield* noToken;
      const now = yield* Clock.currentTimeMillis;
      if (
        held.value.version > token.version &&
        (held.value.expiresAt === undefined || held.value.expiresAt > now)
      ) {
        return toTokenInfo(held.value, obtainedBy);
      }
      const { issuer, clientId } = token;
      // Metadata unknown or past its time to live is discovered again for the refresh.
      const metadata =
        input.authServer !== undefined
          ? input.authServer.metadata
          : input.legacyServerUrl !== undefined
            ? (yield* discoverLegacyAuthServer(input.legacyServerUrl)).metadata
            : (yield* discoverAuthServer(issuer, {
                forAuthorizationCode: input.forAuthorizationCode,
              })).metadata;
      const client = yield* resolveClient(issuer, clientId, settingsFor(issuer));
      const quirks = quirksAt(issuer);
      const tokens = yield* atServer(
        issuer,
        refresh({
          issuer,
          metadata,
          client,
          tokens: held.value,
          signingKey: signingKeyFor(settingsFor(issuer), issuer),
          quirks,
          resourceRequiringDpop: input.resourceRequiringDpop,
        }),
      ).pipe(
        // A dead refresh grant drops the tokens before re-authorizing (RFC 6749 §5.2).
        Effect.tapError((error) =>
          error._tag === "TokenRejected" && error.code === "invalid_grant"
            ? store.deleteTokens(tokenKeyOf(held.value.key))
            : Effect.void,
        ),
      );
      const adjusted: Adjusted<TokenInfo> = {
        ...toTokenInfo(tokens, obtainedBy),
        adjustments: tokenRequestAdjustments(
          quirks,
          client,
          signingKeyFor(settingsFor(issuer), issuer),
          adjustTokenRequest(quirks, {
            grantType: "refresh_token",
            resource: held.value.key.resource,
            granted: held.value.scopes,
          }).adjustments,
        ),
      };
      return adjusted;
    });
  return {
    discoverResource: effectActor(
      "discoverResource",
      runtime,
      (input: DiscoverResourceActorInput) =>
        discoverResource({
          serverUrl: input.serverUrl,
          resourceMetadataUrl: input.resourceMetadataUrl,
          policy: options.resourcePolicy,
        }).pipe(
          Effect.map(
            (found): ResourceInfo => ({
              resource: found.resource,
              metadataUrl: found.metadataUrl,
              authorizationServer: found.authorizationServer,
              scopesSupported: found.metadata.scopes_supported,
              legacy: false,
              ...(found.metadata.dpop_bound_access_tokens_required === true
                ? { dpopBoundTokensRequired: true }
                : {}),
            }),
          ),
        ),
    ),
    discoverAuthServer: effectActor(
      "discoverAuthServer",
      runtime,
      (input: DiscoverAuthServerActorInput) =>
        atServer(
          input.issuer,
          input.legacyServerUrl === undefined
            ? discoverAuthServer(input.issuer, { forAuthorizationCode: input.forAuthorizationCode })
            : discoverLegacyAuthServer(input.legacyServerUrl),
        ).pipe(
          Effect.map(
            (found): AuthServerInfo => ({
              issuer: found.issuer,
              metadata: found.metadata,
              metadataUrl: found.metadataUrl,
              discoveredAt: Date.now(),
            }),
          ),
        ),
    ),
    register: effectActor("register", runtime, (input: RegisterActorInput) =>
      Effect.gen(function* () {
        const { issuer, metadata } = input.authServer;
        yield* tokenUsableThere(input.authServer, input);
        const startedAt = yield* Clock.currentTimeMillis;
        // Under the issuer's lock, so that processes sharing the store register once: the one
        // that waited re-reads the store (register does) and finds the other's client.
        const { client, via } = yield* withSessionLock(
          yield* clientLockName(issuer),
          Effect.gen(function* () {
            const store = yield* CredentialStore;
            if (input.forgetStored) {
              // The rejected registration is forgotten — not one another process made while
              // this one waited for the lock.
              const stored = yield* store.loadClient(issuer);
              if (Option.isNone(stored) || stored.value.registeredAt < startedAt)
                yield* store.deleteClient(issuer);
            }
            return yield* atServer(
              issuer,
              register({
                issuer,
                metadata,
                settings: settingsFor(issuer),
                scopes: input.scopes,
                grantTypes: input.grantTypes,
                quirks: quirksAt(issuer),
              }),
            );
          }),
        );
        if (via === "pre-registered") bindIfWildcard(issuer, client.clientId);
        return {
          issuer: client.issuer,
          clientId: client.clientId,
          kind: client.kind,
        } satisfies ClientInfo;
      }),
    ),
    authorize: effectActor("authorize", runtime, (input: AuthorizeActorInput) =>
      Effect.gen(function* () {
        const { issuer, metadata } = input.authServer;
        yield* tokenUsableThere(input.authServer, input);
        const client = yield* resolveClient(issuer, input.client.clientId, settingsFor(issuer));
        const quirks = quirksAt(issuer);
        const redirectUri = options.settings.redirectUris?.[0] ?? defaultRedirectUri;
        // A server that compares the redirect URI with the registered one exactly takes no port
        // chosen per request (RFC 8252 §7.3 lets loopback vary it; this server does not).
        const fixed = quirks?.adjustments.fixedRedirectUri;
        if (fixed !== undefined && asksForEphemeralPort(redirectUri))
          return yield* new InvalidClientConfiguration({
            reason: `${quirks?.name} needs the exact redirect URI registered for the client (${fixed.why}), and ${redirectUri} asks for a port chosen per request: register a fixed one and give it as client.redirectUris`,
          });
        return yield* authorize({
          issuer,
          metadata,
          client,
          redirectUri,
          resource: input.resource,
          scopes: input.scopes,
          quirks,
        });
      }),
    ),
    exchangeCode: effectActor("exchangeCode", runtime, (input: ExchangeCodeActorInput) =>
      Effect.gen(function* () {
        const { issuer, metadata } = input.authServer;
        const client = yield* resolveClient(issuer, input.client.clientId, settingsFor(issuer));
        const quirks = quirksAt(issuer);
        const tokens = yield* atServer(
          issuer,
          exchangeCode({
            issuer,
            metadata,
            client,
            grant: input.grant,
            signingKey: signingKeyFor(settingsFor(issuer), issuer),
            quirks,
            resourceRequiringDpop: input.resourceRequiringDpop,
          }),
        );
        const adjusted: Adjusted<TokenInfo> = {
          ...toTokenInfo(tokens, "authorization"),
          adjustments: tokenRequestAdjustments(
            quirks,
            client,
            signingKeyFor(settingsFor(issuer), issuer),
            adjustTokenRequest(quirks, {
              grantType: "authorization_code",
              resource: input.grant.resource,
            }).adjustments,
          ),
        };
        return adjusted;
      }),
    ),
    requestClientCredentials: effectActor(
      "clientCredentials",
      runtime,
      (input: DirectGrantActorInput) =>
        Effect.gen(function* () {
          const context = yield* configuredClientAt(input.authServer, input.resourceRequiringDpop);
          const tokens = yield* atServer(
            context.issuer,
            clientCredentials({ ...context, resource: input.resource, scopes: input.scopes }),
          );
          return adjustedGrant(context, "client_credentials", input, tokens);
        }),
    ),
    requestJwtBearer: effectActor("jwtBearer", runtime, (input: DirectGrantActorInput) =>
      Effect.gen(function* () {
        const grant = options.settings.grant;
        if (grant?.type !== "jwt_bearer")
          return yield* new InvalidClientConfiguration({
            reason: "no jwt_bearer grant is configured",
          });
        const context = yield* configuredClientAt(input.authServer, input.resourceRequiringDpop);
        const tokens = yield* atServer(
          context.issuer,
          jwtBearerGrant({
            ...context,
            assertion: suppliedSecret(grant.assertion, "the workload identity token"),
            resource: input.resource,
            scopes: input.scopes,
          }),
        );
        return adjustedGrant(context, "jwt_bearer", input, tokens);
      }),
    ),
    requestIdJag: effectActor("requestIdJag", runtime, (input: DirectGrantActorInput) =>
      Effect.gen(function* () {
        const grant = options.settings.grant;
        if (grant?.type !== "cross_app_access")
          return yield* new InvalidClientConfiguration({
            reason: "no cross_app_access grant is configured",
          });
        // The ID-JAG is for a token at the resource's authorization server.
        yield* tokenUsableThere(input.authServer, input);
        const idp = grant.identityProvider;
        const metadata =
          idp.tokenEndpoint !== undefined
            ? { issuer: idp.issuer, token_endpoint: idp.tokenEndpoint }
            : (yield* discoverAuthServer(idp.issuer)).metadata;
        const now = yield* Clock.currentTimeMillis;
        const subjectToken = yield* suppliedSecret(grant.idToken, "the user's ID token");
        // The identity provider's profile, by its own issuer: the request goes to its endpoint.
        const quirks = quirksAt(idp.issuer);
        const configured: ClientRegistration = {
          issuer: idp.issuer,
          kind: "pre-registered",
          clientId: idp.clientId,
          clientSecret: idp.clientSecret,
          tokenEndpointAuthMethod: idp.tokenEndpointAuthMethod,
          redirectUris: [],
          registeredAt: now,
        };
        // The configured method; else the profile's, when the credentials allow it (clientAuth
        // picks it for a client that names none); else the one the credentials suggest.
        const client: ClientRegistration = {
          ...configured,
          tokenEndpointAuthMethod:
            idp.tokenEndpointAuthMethod ??
            (preferredMethodUsable(preferredAuthMethod(quirks)?.method, configured, idp.signingKey)
              ? undefined
              : idp.signingKey
                ? "private_key_jwt"
                : idp.clientSecret
                  ? "client_secret_basic"
                  : "none"),
        };
        const idJag = yield* atServer(
          idp.issuer,
          requestIdJag({
            idp: { issuer: idp.issuer, metadata, client, signingKey: idp.signingKey, quirks },
            subjectToken,
            audience: input.authServer.issuer,
            resource: input.resource,
            scopes: input.scopes,
          }),
        );
        const granted: Adjusted<IdJagGrantActorInput["idJag"]> = {
          assertion: idJag.assertion,
          scopes: idJag.scopes,
          adjustments: tokenRequestAdjustments(
            quirks,
            client,
            idp.signingKey,
            adjustApiRequest(quirks, input, "token_exchange").adjustments,
          ),
        };
        return granted;
      }),
    ),
    exchangeIdJag: effectActor("exchangeIdJag", runtime, (input: IdJagGrantActorInput) =>
      Effect.gen(function* () {
        const context = yield* configuredClientAt(input.authServer, input.resourceRequiringDpop);
        const scopes = input.idJag.scopes ?? input.scopes;
        const tokens = yield* atServer(
          context.issuer,
          jwtBearerExchange({
            ...context,
            assertion: input.idJag.assertion,
            resource: input.resource,
            scopes,
          }),
        );
        return adjustedGrant(context, "jwt_bearer", { resource: input.resource, scopes }, tokens);
      }),
    ),
    requestDeviceCode: effectActor("requestDeviceCode", runtime, (input: DeviceCodeActorInput) =>
      Effect.gen(function* () {
        const { issuer, metadata } = input.authServer;
        const client = yield* resolveClient(issuer, input.client.clientId, settingsFor(issuer));
        const quirks = quirksAt(issuer);
        const signingKey = signingKeyFor(settingsFor(issuer), issuer);
        yield* tokenUsableThere(input.authServer, input);
        const authorization = yield* atServer(
          issuer,
          requestDeviceAuthorization({
            issuer,
            metadata,
            client,
            signingKey,
            quirks,
            resource: input.resource,
            scopes: input.scopes,
          }),
        );
        const presenter = Option.getOrElse(
          yield* Effect.serviceOption(DeviceCodePresenter),
          () => defaultPresenter,
        );
        yield* presenter.present({
          userCode: authorization.userCode,
          verificationUri: authorization.verificationUri,
          verificationUriComplete: authorization.verificationUriComplete,
          expiresAt: authorization.expiresAt,
        });
        const pending: Adjusted<PendingDeviceAuthorization> = {
          deviceCode: authorization.deviceCode,
          expiresAt: authorization.expiresAt,
          intervalSeconds: authorization.intervalSeconds,
          adjustments: tokenRequestAdjustments(
            quirks,
            client,
            signingKey,
            adjustApiRequest(quirks, input, "device_authorization").adjustments,
          ),
        };
        return pending;
      }),
    ),
    pollDeviceToken: effectActor("pollDeviceToken", runtime, (input: DeviceTokenActorInput) =>
      Effect.gen(function* () {
        const { issuer, metadata } = input.authServer;
        const client = yield* resolveClient(issuer, input.client.clientId, settingsFor(issuer));
        const quirks = quirksAt(issuer);
        const signingKey = signingKeyFor(settingsFor(issuer), issuer);
        const tokens = yield* atServer(
          issuer,
          pollDeviceToken({
            issuer,
            metadata,
            client,
            signingKey,
            quirks,
            authorization: input.pending,
            resource: input.resource,
            scopes: input.scopes,
            resourceRequiringDpop: input.resourceRequiringDpop,
          }),
        );
        const adjusted: Adjusted<TokenInfo> = {
          ...toTokenInfo(tokens, "authorization"),
          adjustments: tokenRequestAdjustments(
            quirks,
            client,
            signingKey,
            adjustTokenRequest(quirks, { grantType: "device_code", resource: input.resource })
              .adjustments,
          ),
        };
        return adjusted;
      }),
    ),
    findStoredToken: effectActor("findStoredToken", runtime, (input: FindStoredTokenActorInput) =>
      Effect.gen(function* () {
        const { issuer } = input.authServer;
        // A login elsewhere could not help where no token would be usable.
        yield* tokenUsableThere(input.authServer, input);
        const store = yield* CredentialStore;
        const { resource } = input;
        const settings = settingsFor(issuer);
        // The clients a login elsewhere would have used, in the order registration picks them:
        // the configured ones (pre-registered, a client ID metadata document), then the
        // registration stored for this issuer (RFC 7591, made by whoever logged in).
        const pre = findPreRegistered(settings, issuer);
        const stored = yield* store.loadClient(issuer);
        const candidates: ClientInfo[] = [
          ...(pre === undefined
            ? []
            : [{ issuer, clientId: pre.clientId, kind: "pre-registered" as const }]),
          ...(settings.clientMetadataUrl === undefined
            ? []
            : [
                {
                  issuer,
                  clientId: settings.clientMetadataUrl,
                  kind: "client-id-metadata-document" as const,
                },
              ]),
          ...Option.match(stored, {
            onNone: () => [],
            onSome: (client) => [{ issuer, clientId: client.clientId, kind: client.kind }],
          }),
        ];
        for (const client of candidates) {
          const tokens = yield* store.loadTokens({ resource, issuer, clientId: client.clientId });
          if (Option.isSome(tokens)) {
            if (client.kind === "pre-registered") bindIfWildcard(issuer, client.clientId);
            return {
              token: toTokenInfo(tokens.value, "authorization"),
              client,
            } satisfies StoredToken;
          }
        }
        return undefined;
      }),
    ),
    refreshToken: effectActor("refreshToken", runtime, (input: RefreshActorInput) =>
      Effect.gen(function* () {
        const noToken = new TokenRejected({
          code: "invalid_grant",
          status: 0,
          errorDescription: "no token is stored",
          grantType: "refresh_token",
        });
        if (input.token === undefined) return yield* noToken;
        const obtainedBy = input.reason === "after-401" ? "refresh-after-401" : "refresh";
        // Under the token's lock (processes sharing the store refresh one at a time), the store
        // is read again: a newer token set there is another process's refresh, used as it is —
        // refreshing again would reuse a rotated refresh token and revoke the grant (RFC 9700
        // §4.14.2). Otherwise this refresh saves its token set before the lock is released.
        return yield* withSessionLock(
          yield* tokenLockName(tokenKeyOf(input.token)),
          refreshUnderLock(input, input.token, obtainedBy, noToken),
        );
      }),
    ),
  };
};

const tokenKeyOf = (token: {
  readonly resource: string;
  readonly issuer: string;
  readonly clientId: string;
}) => ({
  resource: token.resource,
  issuer: token.issuer,
  clientId: token.clientId,
});

/**
 * The lifecycle with the step actors that run the step Effects: the parent's own (refresh) and
 * each child flow's.
 */
export type StepActors = ReturnType<typeof makeStepActors>;

/** The lifecycle with one session's step actors (see shared-machine.ts for the one definition all sessions share). */
export const provideSteps = (runtime: StepRuntime, options: StepActorOptions) =>
  provideStepActors(makeStepActors(runtime, options));

/** The lifecycle and every grant's flow, their `invoke`s bound to `steps`. */
export const provideStepActors = (steps: StepActors) =>
  authMachine.provide({
    actors: {
      authorizationCode: authorizationCodeFlow.provide({
        actors: {
          discoverResource: steps.discoverResource,
          discoverAuthServer: steps.discoverAuthServer,
          register: steps.register,
          authorize: steps.authorize,
          exchangeCode: steps.exchangeCode,
          // A headless user agent's device branch (RFC 8628).
          requestDeviceCode: steps.requestDeviceCode,
          pollDeviceToken: steps.pollDeviceToken,
          // A background session: a token obtained elsewhere over the same store.
          findStoredToken: steps.findStoredToken,
        },
      }),
      clientCredentials: clientCredentialsFlow.provide({
        actors: {
          discoverResource: steps.discoverResource,
          discoverAuthServer: steps.discoverAuthServer,
          requestClientCredentials: steps.requestClientCredentials,
        },
      }),
      jwtBearer: jwtBearerFlow.provide({
        actors: {
          discoverResource: steps.discoverResource,
          discoverAuthServer: steps.discoverAuthServer,
          requestJwtBearer: steps.requestJwtBearer,
        },
      }),
      crossAppAccess: crossAppAccessFlow.provide({
        actors: {
          discoverResource: steps.discoverResource,
          discoverAuthServer: steps.discoverAuthServer,
          requestIdJag: steps.requestIdJag,
          exchangeIdJag: steps.exchangeIdJag,
        },
      }),
      deviceAuthorization: deviceAuthorizationFlow.provide({
        actors: {
          discoverResource: steps.discoverResource,
          discoverAuthServer: steps.discoverAuthServer,
          register: steps.register,
          requestDeviceCode: steps.requestDeviceCode,
          pollDeviceToken: steps.pollDeviceToken,
          findStoredToken: steps.findStoredToken,
        },
      }),
      refreshToken: steps.refreshToken,
    },
  });

/**
 * What a quirk profile changed in one token request, for the trace: its parameters, then the
 * client authentication (when the client names none), a form-encoded answer accepted, and the
 * User-Agent — in the order the request is made.
 */
const tokenRequestAdjustments = (
  quirks: ResolvedQuirks | undefined,
  client: ClientRegistration,
  signingKey: ClientSigningKey | undefined,
  parameters: readonly AppliedAdjustment[],
): readonly AppliedAdjustment[] => {
  const preferred = preferredAuthMethod(quirks);
  const auth = preferredMethodUsable(preferred?.method, client, signingKey) ? preferred : undefined;
  const form = formResponseAdjustment(quirks);
  const agent = userAgentAdjustment(quirks);
  return [
    ...parameters,
    ...(auth === undefined ? [] : [auth.adjustment]),
    ...(form === undefined ? [] : [form]),
    ...(agent === undefined ? [] : [agent.adjustment]),
  ];
};

/** The pre-registered client's key for this issuer (MCP "Preregistration"), else the app's own. */
const signingKeyFor = (settings: ClientSettings, issuer: string) =>
  findPreRegistered(settings, issuer)?.signingKey ?? settings.signingKey;

/**
 * A secret the application supplies (a workload identity token, a user's ID token), called for
 * each request; its failure or an empty answer is a typed AssertionUnavailable that quotes
 * nothing of it.
 */
const suppliedSecret = (supply: () => string | Promise<string>, what: string) =>
  Effect.tryPromise({
    try: async () => supply(),
    catch: () => new AssertionUnavailable({ reason: `the application could not supply ${what}` }),
  }).pipe(
    Effect.flatMap((value) =>
      typeof value === "string" && value.length > 0
        ? Effect.succeed(Redacted.make(value))
        : Effect.fail(new AssertionUnavailable({ reason: `${what} is empty` })),
    ),
  );

/** Where a user code goes when the application gave no DeviceCodePresenter: stderr. */
const defaultPresenter = Effect.runSync(makeDefaultPresenter);
