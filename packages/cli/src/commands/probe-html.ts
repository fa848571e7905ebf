/**
 * `authchart probe --html OUT`: the probe's report as one self-contained HTML page. Everything is
 * inline (styles, no script at all), and a Content-Security-Policy of `default-src 'none'` makes
 * sure the page loads nothing when it is opened — offline, from a file. Every value a server chose
 * is escaped as text and never becomes a link (a `javascript:` URL stays text); the only links are
 * the spec sections this program names.
 */
import type { AdvertisedAuthServer, Evidence, Exchange, ProbeReport } from "@authchart/core/check";

const escapeHtml = (value: string): string =>
  value.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );

/** Text for the page: escaped, control characters shown as U+FFFD. */
const t = (value: string | number | undefined): string =>
  value === undefined
    ? ""
    : // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
      escapeHtml(String(value).replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "\uFFFD"));

const list = (values: readonly string[] | undefined, none = "not advertised"): string =>
  values === undefined
    ? `<span class="none">${t(none)}</span>`
    : values.length === 0
      ? '<span class="none">none</span>'
      : values.map((v) => `<code>${t(v)}</code>`).join(" ");

const yesNo = (value: boolean | undefined): string =>
  value === true ? "yes" : value === false ? "no" : '<span class="none">not advertised</span>';

const row = (name: string, value: string): string =>
  `<tr><th>${t(name)}</th><td>${value}</td></tr>`;

const authServer = (as: AdvertisedAuthServer): string => {
  if (as.refused !== undefined)
    return `<h3>${t(as.issuer)}</h3><p class="error">refused: ${t(as.refused)}</p>`;
  if (as.metadataUrl === undefined)
    return `<h3>${t(as.issuer)}</h3><p class="error">no metadata found</p>`;
  const registration = as.registration;
  return `<h3>${t(as.issuer)}</h3><table>${[
    row(
      "metadata",
      `<code>${t(as.metadataUrl)}</code>${as.redirected ? " (behind a redirect)" : ""}`,
    ),
    row("found at", list(as.foundAt, "no location served it directly")),
    row(
      "registration",
      registration === undefined
        ? ""
        : [
            "pre-registered",
            `client ID metadata documents: ${registration.clientIdMetadataDocument ? "yes" : "no"}`,
            `dynamic registration: ${registration.dynamic === undefined ? "no" : `<code>${t(registration.dynamic)}</code>`}`,
          ].join(" · "),
    ),
    row("PKCE methods", list(as.pkceMethods)),
    row("iss parameter (RFC 9207)", yesNo(as.issParameter)),
    row("DPoP algorithms", list(as.dpopAlgorithms, "not offered")),
    row("grant types", list(as.grantTypes)),
    row("token endpoint auth", list(as.tokenEndpointAuthMethods)),
    row("scopes", list(as.scopesSupported)),
  ].join("")}</table>`;
};

const evidence = (e: Evidence): string =>
  `<li><code>${t(e.url)}</code>${e.status === undefined ? "" : ` → <b>${t(e.status)}</b>`}${
    e.location === undefined ? "" : ` → <code>${t(e.location)}</code>`
  }${e.value === undefined ? "" : `<div class="value">${t(e.value)}</div>`}</li>`;

const exchange = (x: Exchange): string =>
  `<tr><td>${t(x.purpose)}</td><td>${t(x.method)}</td><td><code>${t(x.url)}</code></td><td>${
    x.status === undefined ? t(x.failure ?? "no answer") : t(x.status)
  }${x.location === undefined ? "" : ` → <code>${t(x.location)}</code>`}</td></tr>`;

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1d1d1f;background:#fff}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}h3{font-size:1rem}
code{font:13px ui-monospace,monospace;background:#f3f3f5;padding:0 .25em;border-radius:3px;word-break:break-all}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.25rem .5rem;border-bottom:1px solid #eee}
th{width:14rem;font-weight:600}.none{color:#888}.verdict{font-weight:700;padding:.5rem 1rem;border-radius:4px}
.clean{background:#e6f4ea;color:#1e6b34}.pitfalls{background:#fdecea;color:#a4262c}
.pitfall{border-left:4px solid #a4262c;padding:.25rem 1rem;margin:1rem 0}.pitfall.warning{border-color:#b7791f}
.severity{text-transform:uppercase;font-size:12px;font-weight:700}.error{color:#a4262c}.warning .severity{color:#b7791f}
.value{color:#444;margin-left:1rem;font-family:ui-monospace,monospace;font-size:13px;word-break:break-all}
`;

/** The report as a self-contained page (no script, nothing loaded at view time). */
export const renderProbeHtml = (report: ProbeReport): string => {
  const a = report.advertised;
  const prm = a.resourceMetadata;
  const challenge = a.challenge;
  const pitfalls =
    report.pitfalls.length === 0
      ? "<p>None found.</p>"
      : report.pitfalls
          .map(
            (p) =>
              `<section class="pitfall ${p.severity}" id="${t(p.id)}"><div><span class="severity">${t(p.severity)}</span> <code>${t(p.id)}</code></div><p>${t(p.summary)}</p><ul>${p.evidence.map(evidence).join("")}</ul><p><a href="${t(p.see)}">${t(p.see)}</a></p></section>`,
          )
          .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>authchart probe: ${t(report.server)}</title><style>${STYLE}</style></head>
<body>
<h1>authchart probe <code>${t(report.server)}</code></h1>
<p class="verdict ${report.verdict}">${
    report.verdict === "clean"
      ? "No pitfall found."
      : `${report.pitfalls.length} pitfall${report.pitfalls.length === 1 ? "" : "s"} found.`
  }</p>
<h2>Pitfalls</h2>${pitfalls}
<h2>What the server advertises</h2>
<table>${[
    row(
      "without a token",
      challenge.status === undefined
        ? '<span class="none">no answer</span>'
        : `${t(challenge.status)}${challenge.protected ? "" : " (no authorization asked for)"}`,
    ),
    row(
      "challenge",
      challenge.scheme === undefined ? '<span class="none">none</span>' : t(challenge.scheme),
    ),
    row("challenge scope", list(challenge.scope, "none")),
    row(
      "resource_metadata",
      challenge.resourceMetadata === undefined
        ? '<span class="none">none</span>'
        : `<code>${t(challenge.resourceMetadata)}</code>`,
    ),
  ].join("")}</table>
<h3>Protected-resource metadata</h3>${
    prm === undefined
      ? `<p class="error">not found${a.legacy ? " (the origin was probed as a 2025-03-26 server)" : ""}</p>`
      : `<table>${[
          row(
            "found at",
            `<code>${t(prm.metadataUrl)}</code>${prm.redirected ? " (behind a redirect)" : ""}`,
          ),
          row("resource", `<code>${t(prm.resource)}</code>`),
          row("authorization servers", list(prm.authorizationServers, "none")),
          row("scopes", list(prm.scopesSupported)),
        ].join("")}</table>`
  }
<h3>Authorization servers</h3>${a.authorizationServers.map(authServer).join("") || "<p>none</p>"}
<h2>Requests</h2>
<table><tr><th>for</th><th>method</th><th>URL</th><th>answer</th></tr>${report.exchanges.map(exchange).join("")}</table>
<p class="none">${t(report.schema)} · written by authchart probe</p>
</body></html>
`;
};

/** The page's look and its text escaping, shared with `authchart trace --html` (trace-html.ts). */
export { STYLE as pageStyle, t as pageText };
