/**
 * The canonical URI of an MCP server, used as the RFC 8707 `resource` parameter (RFC 8707 §2;
 * MCP "Resource Parameter Implementation", "Canonical Server URI"), and small URL predicates the
 * other protocol modules share (loopback, same origin).
 *
 * Uses the WHATWG URL parser (present in every runtime core targets) for host normalization
 * (lower-casing, IDNA, IPv4/IPv6 forms, default ports) and refuses input that parser would
 * silently repair, so that the identifier sent to the AS is exactly what the user meant.
 *
 * Pure: no I/O, never throws.
 */

/** Result of {@link canonicalResourceUri}. */
export type CanonicalResult =
  | { readonly ok: true; readonly uri: string }
  | { readonly ok: false; readonly reason: string };

const fail = (reason: string): CanonicalResult => ({ ok: false, reason });

/**
 * `new URL(input)` without a base (so only absolute URLs parse), returning `undefined` instead of
 * throwing — the protocol layer never throws (see protocol/index.ts).
 */
export const tryParseUrl = (input: string): URL | undefined => {
  try {
    return new URL(input);
  } catch {
    return undefined;
  }
};

/** `scheme "://"` at the start, scheme http or https, case-insensitive. */
const hasHttpSchemePrefix = (input: string): boolean => {
  const lower = input.slice(0, 8).toLowerCase();
  return lower.startsWith("http://") || lower.startsWith("https://");
};

/** C0 controls, SP, DEL and `\`: the WHATWG parser strips, drops or rewrites these. */
const hasRewrittenChars = (input: string): boolean => {
  for (let k = 0; k < input.length; k++) {
    const c = input.charCodeAt(k);
    if (c <= 0x20 || c === 0x7f || c === 0x5c) return true;
  }
  return false;
};

/** The authority of an input already known to start with `http(s)://`. */
const rawAuthority = (input: string): string => {
  const start = input.indexOf("//") + 2;
  let end = input.length;
  for (const delimiter of ["/", "?", "#"]) {
    const k = input.indexOf(delimiter, start);
    if (k !== -1 && k < end) end = k;
  }
  return input.slice(start, end);
};

/**
 * Remove every trailing `/` of a path. Shared by the canonical resource URI (MCP "Canonical Server
 * URI": no trailing `/`), the PRM well-known URLs (RFC 9728 §3.1) and the issuer (RFC 8414 §3.1).
 * All of them rather than one, so that the results are stable when applied again.
 */
export const stripTrailingSlashes = (path: string): string => {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 0x2f) end--;
  return path.slice(0, end);
};

/**
 * The canonical resource URI of an MCP server URL (RFC 8707 §2; MCP "Canonical Server URI").
 *
 * - MUST be absolute `http(s)://...` (RFC 8707 §2). Relative or scheme-relative input is refused.
 * - A fragment is refused, not dropped (RFC 8707 §2 "MUST NOT include a fragment"): a URL with
 *   `#` is most likely a mistake the user should see. Userinfo is refused too (it has no place in
 *   an identifier and would leak credentials to the AS).
 * - Scheme and host lower-cased, uppercase input accepted (MCP); default port dropped (our choice).
 * - The path is kept — the most specific form, e.g. `/mcp` (MCP SHOULD) — with trailing slashes
 *   removed (MCP "no trailing `/` unless it matters"): `https://a.example/` → `https://a.example`,
 *   `https://a.example/mcp/` → `https://a.example/mcp`. All of them, so that canonicalizing a
 *   canonical URI returns it unchanged. `.`/`..` segments are resolved by the URL parser.
 * - The query is kept as the URL parser serializes it (RFC 8707 §2: SHOULD NOT have one, but it
 *   may be needed to identify the server); an empty query (`?` alone) is dropped. With a root path
 *   this gives `https://a.example?x=1`.
 * - Whitespace, control characters and `\` are refused rather than silently repaired.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8707#section-2
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#canonical-server-uri
 */
export function canonicalResourceUri(input: string): CanonicalResult {
  if (typeof input !== "string" || input.length === 0) return fail("empty resource URI");
  if (hasRewrittenChars(input)) {
    return fail("resource URI contains whitespace, control characters or a backslash");
  }
  if (!hasHttpSchemePrefix(input)) return fail("resource URI must be an absolute http(s) URL");
  if (input.includes("#")) return fail("resource URI must not contain a fragment (RFC 8707 §2)");
  const authority = rawAuthority(input);
  if (authority.includes("@")) return fail("resource URI must not contain userinfo");
  if (authority === "") return fail("resource URI is not a valid URL: no host");
  const url = tryParseUrl(input);
  if (url === undefined || url.host === "") return fail("resource URI is not a valid URL");
  const path = stripTrailingSlashes(url.pathname);
  return { ok: true, uri: `${url.protocol}//${url.host}${path}${url.search}` };
}

const HOSTNAME_CHARS = /^[A-Za-z0-9.:[\]-]+$/;
const IPV4_LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/**
 * Whether a hostname is loopback: `localhost` (any case), 127.0.0.0/8, or `::1` with or without
 * brackets (RFC 8252 §7.3, §8.3; RFC 6761 §6.3; MCP "Communication Security": http only there).
 * The WHATWG host parser normalizes the literal first (`127.1`, `0:0:0:0:0:0:0:1` count), because
 * an HTTP client resolves such a host the same way. Ports, userinfo or anything not a hostname
 * give `false`.
 */
export function isLoopbackHost(hostname: string): boolean {
  if (typeof hostname !== "string" || !HOSTNAME_CHARS.test(hostname)) return false;
  const bracketed = hostname.startsWith("[") && hostname.endsWith("]");
  const literal = !bracketed && hostname.includes(":") ? `[${hostname}]` : hostname;
  const parsed = tryParseUrl(`http://${literal}/`)?.hostname;
  if (parsed === undefined) return false;
  return parsed === "localhost" || parsed === "[::1]" || IPV4_LOOPBACK.test(parsed);
}

/**
 * Whether two URLs have the same origin — scheme, host and port after normalization (RFC 6454
 * §4–5; the bearer token goes only to the resource's origin, see test/e2e/security.test.ts; a PRM
 * `resource` on another origin is always rejected, RFC 9728 §3.3). `false` if either does not
 * parse or has an opaque origin.
 */
export function sameOrigin(a: string, b: string): boolean {
  if (typeof a !== "string" || typeof b !== "string") return false;
  const ua = tryParseUrl(a);
  const ub = tryParseUrl(b);
  if (ua === undefined || ub === undefined || ua.origin === "null") return false;
  return ua.origin === ub.origin;
}

/** The four octets of a dotted IPv4 literal as the URL parser serializes it, else undefined. */
const ipv4Octets = (host: string): readonly number[] | undefined => {
  const parts = host.split(".");
  if (parts.length !== 4) return undefined;
  const octets = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : Number.NaN));
  return octets.every((o) => o >= 0 && o <= 255) ? octets : undefined;
};

/**
 * IPv4 ranges no remote server may point this client at: "this network" 0/8, private 10/8,
 * 172.16/12 and 192.168/16 (RFC 1918), shared 100.64/10 (RFC 6598), loopback 127/8, link-local
 * 169.254/16 (cloud metadata services live there), benchmarking 198.18/15, and multicast,
 * reserved and broadcast 224/3.
 */
const isLocalIpv4 = ([a = 0, b = 0]: readonly number[]): boolean =>
  a === 0 ||
  a === 10 ||
  a === 127 ||
  (a === 100 && b >= 64 && b <= 127) ||
  (a === 169 && b === 254) ||
  (a === 172 && b >= 16 && b <= 31) ||
  (a === 192 && b === 168) ||
  (a === 198 && (b === 18 || b === 19)) ||
  a >= 224;

/** The 8 groups of a bracketed IPv6 literal as the URL parser serializes it (compressed `::`). */
const ipv6Groups = (host: string): readonly number[] | undefined => {
  if (!host.startsWith("[") || !host.endsWith("]")) return undefined;
  const inner = host.slice(1, -1);
  const [head = "", tail] = inner.split("::");
  const parse = (part: string) => (part === "" ? [] : part.split(":"));
  const groups = (list: string[]): number[] | undefined => {
    const out: number[] = [];
    for (const g of list) {
      if (g.includes(".")) {
        const v4 = ipv4Octets(g);
        if (v4 === undefined) return undefined;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const left = groups(parse(head));
  const right = tail === undefined ? [] : groups(parse(tail));
  if (left === undefined || right === undefined) return undefined;
  const fill = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<number>(Math.max(0, fill)).fill(0), ...right];
};

/**
 * IPv6 ranges no remote server may point this client at: unspecified and loopback, unique-local
 * fc00::/7 (RFC 4193), link-local fe80::/10, multicast ff00::/8, and an IPv4-mapped
 * (::ffff:0:0/96), IPv4-compatible (::/96), 6to4 (2002::/16) or NAT64 (64:ff9b::/96) address whose
 * IPv4 part is local.
 */
const isLocalIpv6 = (groups: readonly number[]): boolean => {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups;
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g6 === 0) {
    if (g5 === 0 && (g7 === 0 || g7 === 1)) return true; // :: and ::1
  }
  if ((g0 & 0xfe00) === 0xfc00 || (g0 & 0xffc0) === 0xfe80 || (g0 & 0xff00) === 0xff00) return true;
  // 6to4 (2002::/16, RFC 3056 §2) carries its IPv4 address in the second and third groups.
  if (g0 === 0x2002) return isLocalIpv4([g1 >> 8, g1 & 0xff, g2 >> 8, g2 & 0xff]);
  const embedsV4 =
    (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff) ||
    // IPv4-compatible ::a.b.c.d (deprecated, RFC 4291 §2.5.5.1), still routed by some stacks
    (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) ||
    (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0);
  return embedsV4 && isLocalIpv4([g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff]);
};

/**
 * Whether a hostname names this machine or a private network by itself — `localhost` and
 * `*.localhost` (RFC 6761 §6.3), or an IP literal in a loopback, private, link-local, shared or
 * reserved range (IPv4 in any form the URL parser accepts: `0x7f.1`, `2130706433`). A remote MCP
 * server must not make the client request such an address (SSRF; RFC 9728 §7.7, MCP Security
 * Best Practices "Server-Side Request Forgery"). Names that resolve to such addresses through DNS
 * are not seen here: that needs resolution-time checks (an egress proxy), which this library
 * does not do.
 */
export function isLocalNetworkHost(hostname: string): boolean {
  if (typeof hostname !== "string" || !HOSTNAME_CHARS.test(hostname)) return false;
  const bracketed = hostname.startsWith("[") && hostname.endsWith("]");
  const literal = !bracketed && hostname.includes(":") ? `[${hostname}]` : hostname;
  const host = tryParseUrl(`http://${literal}/`)?.hostname;
  if (host === undefined) return false;
  // A trailing dot names the same host (an absolute DNS name): `localhost.` is localhost.
  const name = host.replace(/\.+$/, "");
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  const v4 = ipv4Octets(host);
  if (v4 !== undefined) return isLocalIpv4(v4);
  const v6 = ipv6Groups(host);
  return v6 !== undefined && isLocalIpv6(v6);
}
