/**
 * The real actors: each runs a step Effect through a ManagedRuntime with the actor's AbortSignal
 * (leaving the state aborts it and interrupts the fiber), and rethrows the typed failure itself
 * so guards can read its `_tag` (DESIGN: runPromise would wrap it).
 */
import { Cause, Effect, Exit, type ManagedRuntime, Option } from "effect";
import { fromPromise } from "xstate";
import { type ClientSettings, findPreRegistered } from "../client-settings.js";
import { describeDefect, TokenRejected } from "../errors.js";
import type { TokenSet } from "../schema/credentials.js";
import { CredentialStore } from "../services/credential-store.js";
import type { OAuthHttp } from "../services/http.js";
import type { Randomness } from "../services/randomness.js";
import type { UserAgent } from "../services/user-agent.js";
import { authorize } from "../steps/authorize.js";
import { discoverAuthServer, discoverLegacyAuthServer } from "../steps/discover-auth-server.js";
import { discoverResource, type ResourceMatchPolicy } from "../steps/discover-resource.js";
import { register, resolveClient } from "../steps/register.js";
import { exchangeCode, refresh } from "../steps/tokens.js";
import type {
  AuthorizeActorInput,
  DiscoverAuthServerActorInput,
  DiscoverResourceActorInput,
  ExchangeCodeActorInput,
  RefreshActorInput,
  RegisterActorInput,
} from "./actors.js";
import { authMachine } from "./auth-machine.js";
import { StepDefect } from "./errors.js";
import { authorizationCodeFlow } from "./flows/authorization-code.js";
import type { AuthServerInfo, ClientInfo, ResourceInfo, TokenInfo } from "./model.js";

export type StepServices = OAuthHttp | CredentialStore | UserAgent | Randomness;
export type StepRuntime = ManagedRuntime.ManagedRuntime<StepServices, never>;

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
  // SPEC R11 Δ / T6: a pre-registered client without an issuer serves the first authorization
  // server it is used with and no other — its secret or key never reaches a second issuer (a
  // resource whose metadata later names another server registers there instead).
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
            }),
          ),
        ),
    ),
    discoverAuthServer: effectActor(
      "discoverAuthServer",
      runtime,
      (input: DiscoverAuthServerActorInput) =>
        (input.legacyServerUrl === undefined
          ? discoverAuthServer(input.issuer)
          : discoverLegacyAuthServer(input.legacyServerUrl)
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
        if (input.forgetStored) yield* (yield* CredentialStore).deleteClient(issuer);
        const { client, via } = yield* register({
          issuer,
          metadata,
          settings: settingsFor(issuer),
          scopes: input.scopes,
        });
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
        const client = yield* resolveClient(issuer, input.client.clientId, settingsFor(issuer));
        return yield* authorize({
          issuer,
          metadata,
          client,
          redirectUri: options.settings.redirectUris[0],
          resource: input.resource,
          scopes: input.scopes,
        });
      }),
    ),
    exchangeCode: effectActor("exchangeCode", runtime, (input: ExchangeCodeActorInput) =>
      Effect.gen(function* () {
        const { issuer, metadata } = input.authServer;
        const client = yield* resolveClient(issuer, input.client.clientId, settingsFor(issuer));
        const tokens = yield* exchangeCode({
          issuer,
          metadata,
          client,
          grant: input.grant,
          signingKey: signingKeyFor(settingsFor(issuer), issuer),
        });
        return toTokenInfo(tokens, "authorization");
      }),
    ),
    refreshToken: effectActor("refreshToken", runtime, (input: RefreshActorInput) =>
      Effect.gen(function* () {
        const store = yield* CredentialStore;
        const held = input.token && (yield* store.loadTokens(tokenKeyOf(input.token)));
        if (input.token === undefined || held === undefined || Option.isNone(held)) {
          return yield* new TokenRejected({
            code: "invalid_grant",
            status: 0,
            errorDescription: "no token is stored",
            grantType: "refresh_token",
          });
        }
        const { issuer, clientId } = input.token;
        // Metadata unknown or past its time to live is discovered again for the refresh.
        const metadata =
          input.authServer !== undefined
            ? input.authServer.metadata
            : input.legacyServerUrl !== undefined
              ? (yield* discoverLegacyAuthServer(input.legacyServerUrl)).metadata
              : (yield* discoverAuthServer(issuer)).metadata;
        const client = yield* resolveClient(issuer, clientId, settingsFor(issuer));
        const tokens = yield* refresh({
          issuer,
          metadata,
          client,
          tokens: held.value,
          signingKey: signingKeyFor(settingsFor(issuer), issuer),
        }).pipe(
          // A dead refresh grant drops the tokens before re-authorizing (RFC 6749 §5.2).
          Effect.tapError((error) =>
            error._tag === "TokenRejected" && error.code === "invalid_grant"
              ? store.deleteTokens(tokenKeyOf(held.value.key))
              : Effect.void,
          ),
        );
        return toTokenInfo(tokens, input.reason === "after-401" ? "refresh-after-401" : "refresh");
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
export const provideSteps = (runtime: StepRuntime, options: StepActorOptions) => {
  const steps = makeStepActors(runtime, options);
  return authMachine.provide({
    actors: {
      authorizationCode: authorizationCodeFlow.provide({
        actors: {
          discoverResource: steps.discoverResource,
          discoverAuthServer: steps.discoverAuthServer,
          register: steps.register,
          authorize: steps.authorize,
          exchangeCode: steps.exchangeCode,
        },
      }),
      refreshToken: steps.refreshToken,
    },
  });
};

/** The pre-registered client's key for this issuer (SPEC R2), else the application's own. */
const signingKeyFor = (settings: ClientSettings, issuer: string) =>
  findPreRegistered(settings, issuer)?.signingKey ?? settings.signingKey;
