/**
 * @authchart/core — the MCP client authorization lifecycle. The root export is what applications
 * use: the session (Promise and Effect APIs), client settings, the typed errors, the services a
 * host may replace, the store's types, the trace vocabulary, and the statechart for inspection and
 * diagrams. Further entry points: `@authchart/core/protocol` (pure RFC functions),
 * `@authchart/core/steps` (one Effect program per lifecycle step), `@authchart/core/diagram`
 * (the Mermaid renderer), `@authchart/core/internals` (shared by this repository's packages; no
 * stability promise).
 */

// What a client is and which grant it uses.
export type {
  ClientSettings,
  ClientSigningKey,
  GrantSettings,
  IdentityProviderClient,
  PreRegisteredClient,
} from "./client-settings.js";
export { defaultRedirectUri } from "./client-settings.js";
// Every failure a user can meet, as a tagged error.
export {
  AssertionRejected,
  AssertionUnavailable,
  AuthorizationDenied,
  AuthServerMetadataNotFound,
  ClientSecretExpired,
  DeviceAuthorizationDenied,
  DeviceAuthorizationRejected,
  DeviceAuthorizationUnsupported,
  DeviceCodeExpired,
  DpopBindingMismatch,
  DpopKeyFailed,
  DpopRequiredByResource,
  DpopUnsupported,
  type HttpError,
  InsecureUrl,
  InvalidCallback,
  InvalidChallenge,
  InvalidClientConfiguration,
  InvalidDocument,
  InvalidResourceUri,
  IssMismatch,
  IssuerMismatch,
  type JsonError,
  MalformedJson,
  NoAuthorizationServer,
  PkceUnsupported,
  RegistrationRejected,
  RegistrationUnavailable,
  RequestTimeout,
  ResourceMetadataNotFound,
  ResourceMismatch,
  ResponseTooLarge,
  RevocationFailed,
  StateMismatch,
  StoreFailed,
  TokenEndpointFailed,
  TokenRejected,
  TransportError,
  UnexpectedContentType,
  UnexpectedRedirect,
  UnexpectedStatus,
  UserAgentFailed,
} from "./errors.js";
// The options that keep every secret in the process when an inspector watches a session.
export { type InspectorSanitizers, inspectorOptions } from "./inspector-options.js";
// The statechart: the lifecycle and one child flow per grant, for inspectors and diagrams.
export * from "./machine/auth-machine.js";
export * from "./machine/errors.js";
export * from "./machine/flows/authorization-code.js";
export * from "./machine/flows/client-credentials.js";
export * from "./machine/flows/cross-app-access.js";
export * from "./machine/flows/device-authorization.js";
export * from "./machine/flows/jwt-bearer.js";
export type {
  AuthConfig,
  AuthContext,
  AuthServerInfo,
  ChallengeInfo,
  ClientInfo,
  GrantType,
  InteractionPolicy,
  ResourceInfo,
  ScopeOrigin,
  ScopePlan,
  Scopes,
  TokenInfo,
  TraceEntry,
} from "./machine/model.js";
export { defaultAuthConfig } from "./machine/model.js";
export * from "./machine/redact.js";
export type { StepServices } from "./machine/step-actors.js";
export * from "./machine/vocabulary.js";
// What is stored, and the services a host may replace (Effect users: createSession({ layer })).
export type { DpopAlgorithm, DpopPolicy, DpopUse } from "./protocol/dpop.js";
// The pure protocol functions (also `@authchart/core/protocol`).
export * as Protocol from "./protocol/index.js";
// What real authorization servers need beyond the specifications: quirk profiles as data.
export { issuerMatches, resolveQuirks } from "./quirks/match.js";
export type {
  AppliedAdjustment,
  QuirkAdjustments,
  QuirkName,
  QuirkProfile,
  QuirkServerSettings,
  QuirkSettings,
  ResolvedQuirks,
  Why,
} from "./quirks/profile.js";
export { builtInProfiles } from "./quirks/profiles.js";
export * from "./schema/credentials.js";
export * from "./services/credential-store.js";
export {
  DeviceCodePresenter,
  type DeviceCodePresenterService,
  type DeviceCodePrompt,
  formatDeviceCodePrompt,
} from "./services/device-code-presenter.js";
export {
  DPoP,
  type DPoPService,
  type DpopOptions,
  type DpopProof,
  type DpopProofRequest,
  type DpopServer,
  type ResourceRequestHeaders,
} from "./services/dpop.js";
export * from "./services/headless-user-agent.js";
export {
  defaultHttpPolicy,
  defaultUserAgent,
  type HttpPolicy,
  OAuthHttp,
  type OAuthHttpService,
  type OAuthRequest,
  type OAuthRequestBody,
  type OAuthResponse,
} from "./services/http.js";
export * from "./services/randomness.js";
export * from "./services/session-lock.js";
export * from "./services/user-agent.js";
// The session.
export * from "./session/effect.js";
export * from "./session/session.js";
