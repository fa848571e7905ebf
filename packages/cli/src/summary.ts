/**
 * What `status`, `login` and `logout` show of a session: the metadata core persists
 * (PersistedSession: issuer, client id, granted scopes, expiry, whether a refresh token is held)
 * and nothing else — the tokens stay in the store, never read here.
 */
import type { TokenInfo } from "@authchart/core";
import { PersistedSession } from "@authchart/core/internals";
import { type Option, Schema } from "effect";
import { bold, dim, green, type Line, line, red, sanitize, yellow } from "./output.js";

/**
 * - authorized: a token that has not expired;
 * - refreshable: expired, but a refresh token is held (the next request refreshes);
 * - expired: expired, no refresh token (the next request authorizes again);
 * - unauthorized: metadata only (discovered, registered), no token.
 */
export type SessionStatus = "authorized" | "refreshable" | "expired" | "unauthorized";

export interface SessionSummary {
  readonly server: string;
  readonly status: SessionStatus;
  readonly issuer?: string | undefined;
  readonly clientId?: string | undefined;
  /** pre-registered, client-id-metadata-document or dynamic. */
  readonly clientKind?: string | undefined;
  readonly scopes: readonly string[];
  /** ISO 8601. */
  readonly expiresAt?: string | undefined;
  readonly obtainedAt?: string | undefined;
  readonly refreshToken: boolean;
  /** ISO 8601: when the session was last saved. */
  readonly savedAt: string;
}

/** The saved session's JSON (the store's `loadSession`), decoded with core's own Schema. */
export const decodeSession = (json: string): Option.Option<PersistedSession> =>
  Schema.decodeUnknownOption(Schema.parseJson(PersistedSession))(json);

const statusOf = (token: TokenInfo | undefined, now: number): SessionStatus => {
  if (token === undefined) return "unauthorized";
  if (token.expiresAt === undefined || token.expiresAt > now) return "authorized";
  return token.hasRefreshToken ? "refreshable" : "expired";
};

export const summarize = (session: PersistedSession, now: number): SessionSummary => {
  const token = session.token;
  const iso = (millis: number | undefined) =>
    millis === undefined ? undefined : new Date(millis).toISOString();
  return {
    server: session.serverUrl,
    status: statusOf(token, now),
    issuer: token?.issuer ?? session.client?.issuer ?? session.authServer?.issuer,
    clientId: token?.clientId ?? session.client?.clientId,
    clientKind: session.client?.kind,
    scopes: token?.scopes ?? [],
    expiresAt: iso(token?.expiresAt),
    obtainedAt: iso(token?.obtainedAt),
    refreshToken: token?.hasRefreshToken ?? false,
    savedAt: new Date(session.savedAt).toISOString(),
  };
};

/** "in 59 min", "3 h ago", for a person. */
export const relative = (at: number, now: number): string => {
  const seconds = Math.round((at - now) / 1000);
  const magnitude = Math.abs(seconds);
  const amount =
    magnitude < 90
      ? `${magnitude} s`
      : magnitude < 90 * 60
        ? `${Math.round(magnitude / 60)} min`
        : magnitude < 48 * 3600
          ? `${Math.round(magnitude / 3600)} h`
          : `${Math.round(magnitude / 86400)} days`;
  return seconds >= 0 ? `in ${amount}` : `${amount} ago`;
};

const statusText = (status: SessionStatus): Line => {
  switch (status) {
    case "authorized":
      return green("authorized");
    case "refreshable":
      return yellow("expired (a refresh token is held: the next request refreshes)");
    case "expired":
      return red("expired (the next request authorizes again)");
    case "unauthorized":
      return yellow("not authorized");
  }
};

/** The lines a person reads; server-chosen strings sanitized. */
export const summaryLines = (summary: SessionSummary, now: number): Line[] => {
  const field = (name: string, value: Line | string) => line("  ", dim(name.padEnd(9)), value);
  return [
    line(bold(sanitize(summary.server))),
    field("state", statusText(summary.status)),
    field("scopes", summary.scopes.length > 0 ? sanitize(summary.scopes.join(" ")) : "(none)"),
    ...(summary.expiresAt === undefined
      ? []
      : [
          field(
            "expires",
            `${summary.expiresAt} (${relative(Date.parse(summary.expiresAt), now)})`,
          ),
        ]),
    field("refresh", summary.refreshToken ? "a refresh token is held" : "no refresh token"),
    ...(summary.issuer === undefined ? [] : [field("issuer", sanitize(summary.issuer))]),
    ...(summary.clientId === undefined
      ? []
      : [
          field(
            "client",
            `${sanitize(summary.clientId)}${summary.clientKind ? ` (${summary.clientKind})` : ""}`,
          ),
        ]),
  ];
};
