/**
 * Which profile applies at an issuer: the client settings' choice for that server first, else the
 * first profile (the application's own, then the built-in ones) one of whose issuer patterns
 * matches. Issuers are compared as strings, like the metadata's issuer check (RFC 8414 §3.3): no
 * normalization, so a pattern never matches a lookalike.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3.3
 */

import type { QuirkProfile, QuirkSettings, ResolvedQuirks } from "./profile.js";
import { builtInProfiles } from "./profiles.js";

const placeholder = /\{[A-Za-z0-9_]+\}/g;

/** An issuer pattern as a regular expression: literal text, `{x}` = one label or segment. */
const patternExpression = (pattern: string): RegExp =>
  new RegExp(
    `^${pattern
      .split(placeholder)
      .map((literal) => literal.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))
      .join("[A-Za-z0-9_-]+")}$`,
  );

/** Patterns compiled once: every step resolves the profile at its issuer again. */
const compiled = new Map<string, RegExp | undefined>();
const compiledPattern = (pattern: string): RegExp | undefined => {
  if (compiled.has(pattern)) return compiled.get(pattern);
  const expression = pattern.search(placeholder) === -1 ? undefined : patternExpression(pattern);
  // Built-in and application patterns are few; a bound keeps a careless caller's from growing it.
  if (compiled.size < 1024) compiled.set(pattern, expression);
  return expression;
};

/** Whether `issuer` is one a profile names: exactly, or through a pattern with placeholders. */
export const issuerMatches = (pattern: string, issuer: string): boolean => {
  const expression = compiledPattern(pattern);
  return expression === undefined ? pattern === issuer : expression.test(issuer);
};

/** The profile for `issuer` under these settings, or undefined: no adjustment at all. */
export const resolveQuirks = (
  settings: QuirkSettings | undefined,
  issuer: string,
): ResolvedQuirks | undefined => {
  const known = [
    ...(settings?.profiles ?? []),
    ...(settings?.builtIn === false ? [] : builtInProfiles),
  ];
  const server = settings?.servers?.find((s) => s.issuer === issuer);
  if (server?.profile === "none") return undefined;
  const chosen =
    server?.profile !== undefined
      ? byId([...(settings?.profiles ?? []), ...builtInProfiles], server.profile)
      : undefined;
  const matched =
    chosen ?? known.find((profile) => profile.issuers.some((p) => issuerMatches(p, issuer)));
  if (matched === undefined && server?.adjustments === undefined) return undefined;
  return {
    profile: matched?.id ?? `settings for ${issuer}`,
    name: matched?.name ?? `the client settings for ${issuer}`,
    matchedBy: matched !== undefined && chosen === undefined ? "issuer" : "client settings",
    adjustments: { ...matched?.adjustments, ...server?.adjustments },
  };
};

const byId = (profiles: readonly QuirkProfile[], id: string) => profiles.find((p) => p.id === id);

/**
 * A problem with the quirk settings, found when the session is created: a server that names a
 * profile nobody defines, or a profile of the application's without an id.
 */
export const quirkSettingsProblem = (settings: QuirkSettings | undefined): string | undefined => {
  const ids = new Set([...(settings?.profiles ?? []), ...builtInProfiles].map((p) => p.id));
  for (const profile of settings?.profiles ?? [])
    if (!profile.id) return "a quirk profile of the client settings has no id";
  for (const server of settings?.servers ?? [])
    if (server.profile !== undefined && server.profile !== "none" && !ids.has(server.profile))
      return `the quirk profile "${server.profile.slice(0, 60)}" named for ${server.issuer} is not defined (built-in: ${builtInProfiles.map((p) => p.id).join(", ")})`;
  return undefined;
};
