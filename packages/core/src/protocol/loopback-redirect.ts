/**
 * Loopback redirect URIs with a port chosen at request time (RFC 8252 §7.3): "The authorization
 * server MUST allow any port to be specified at the time of the request for loopback IP redirect
 * URIs, to accommodate clients that obtain an available ephemeral port from the operating system
 * at the time of the request."
 *
 * Decisions:
 * - A configured redirect URI asks for an ephemeral port by naming port 0 on a loopback IP
 *   literal: `http://127.0.0.1:0/callback` or `http://[::1]:0/callback`. Port 0 is what the
 *   operating system reads as "any free port", and it is explicit — a URI without a port means
 *   port 80, as URL parsing says.
 * - Only a loopback IP literal gets a port substituted. `localhost` is NOT RECOMMENDED (§8.3: it
 *   may resolve to another interface) and §7.3's "any port" rule is for IP literals, so a
 *   `localhost` URI, and every other redirect URI, is used exactly as registered.
 * - Registration (RFC 7591 `redirect_uris`, a client ID metadata document) carries such a URI
 *   without a port, `http://127.0.0.1/callback` — the form §7.3 describes; an authorization
 *   server following §7.3 matches any port against it.
 * - The authorization request and the token request both carry the URI with the port the user
 *   agent bound (RFC 6749 §4.1.3: the token request's `redirect_uri` is identical to the
 *   authorization request's).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */

const tryParse = (uri: string): URL | undefined => {
  try {
    return new URL(uri);
  } catch {
    return undefined;
  }
};

/** `127.0.0.1` or `[::1]`: the loopback IP literals of RFC 8252 §7.3 (not `localhost`, §8.3). */
export const isLoopbackIpLiteral = (hostname: string): boolean =>
  hostname === "127.0.0.1" || hostname === "[::1]";

/** An http redirect URI on a loopback IP literal with port 0: any free port, bound at request time. */
export const asksForEphemeralPort = (redirectUri: string): boolean => {
  const url = tryParse(redirectUri);
  return (
    url !== undefined &&
    url.protocol === "http:" &&
    isLoopbackIpLiteral(url.hostname) &&
    url.port === "0"
  );
};

/**
 * The redirect URI as it is registered: an ephemeral-port URI without its port (RFC 8252 §7.3),
 * anything else unchanged.
 */
export const registeredRedirectUri = (redirectUri: string): string => {
  if (!asksForEphemeralPort(redirectUri)) return redirectUri;
  const url = new URL(redirectUri);
  url.port = "";
  return url.href;
};

/**
 * Whether a user agent may use `bound` for the configured `configured`: the same URI, or — when
 * `configured` asks for an ephemeral port — the same URI with a real port (1–65535) in place of
 * 0, which it must then have. Anything else (another host, path, query or scheme; a port for a fixed-port URI)
 * would send the authorization response somewhere the client did not register.
 */
export const boundRedirectAllowed = (configured: string, bound: string): boolean => {
  if (!asksForEphemeralPort(configured)) return bound === configured;
  const url = tryParse(bound);
  if (url === undefined || url.port === "" || url.port === "0") return false;
  const port = url.port;
  url.port = "0";
  return url.href === new URL(configured).href && Number(port) > 0 && Number(port) <= 65535;
};

/** A problem with a configured redirect URI's port, or undefined. */
export const ephemeralPortProblem = (redirectUri: string): string | undefined => {
  const url = tryParse(redirectUri);
  if (url === undefined || url.port !== "0" || asksForEphemeralPort(redirectUri)) return undefined;
  return `the redirect URI ${redirectUri} asks for an ephemeral port (:0), which only an http loopback IP literal may (http://127.0.0.1:0/… or http://[::1]:0/…; RFC 8252 §7.3, §8.3)`;
};
