/**
 * A UserAgent without a browser, for tests, CI and authorization servers that approve without a
 * user (the MCP conformance suite's, a pre-consented enterprise IdP): it requests the
 * authorization URL without following redirects and reads the callback from the Location of the
 * answer. Redirects within the authorization server (a login step that approves at once) are
 * followed, a bounded number of times; anything else is a clear failure.
 */
import type { AuthorizationPrompt } from "./user-agent.js";

export interface HeadlessUserAgentOptions {
  readonly fetch?: typeof globalThis.fetch | undefined;
  /** Redirects followed inside the authorization server before giving up. Default 5. */
  readonly maxRedirects?: number | undefined;
}

const isCallback = (candidate: URL, redirectUri: URL) =>
  candidate.origin === redirectUri.origin && candidate.pathname === redirectUri.pathname;

export const headlessUserAgent =
  (options: HeadlessUserAgentOptions = {}) =>
  async (prompt: AuthorizationPrompt, signal: AbortSignal): Promise<string> => {
    const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    const redirectUri = new URL(prompt.redirectUri);
    let url = new URL(prompt.url);
    const cookies = new Map<string, string>();
    for (let hop = 0; hop <= (options.maxRedirects ?? 5); hop++) {
      if (url.protocol !== "https:" && url.protocol !== "http:") {
        throw new Error(`refusing to open a ${url.protocol} URL`);
      }
      const cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join("; ");
      const response = await fetchFn(url, {
        redirect: "manual",
        signal,
        headers: cookie ? { cookie } : {},
      });
      for (const line of response.headers.getSetCookie?.() ?? []) {
        const [pair] = line.split(";");
        const eq = pair?.indexOf("=") ?? -1;
        if (pair && eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
      }
      await response.body?.cancel();
      const location = response.headers.get("location");
      if (location === null) {
        throw new Error(
          `the authorization server answered ${response.status} without redirecting; a headless user agent cannot interact`,
        );
      }
      const next = new URL(location, url);
      if (isCallback(next, redirectUri)) return next.href;
      if (next.origin !== url.origin) {
        throw new Error(
          `the authorization server redirected to ${next.origin}, which is not the redirect URI`,
        );
      }
      url = next;
    }
    throw new Error("too many redirects inside the authorization server");
  };
