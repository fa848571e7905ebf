/**
 * `npm run demo`: the agent against a real authorization server (oidc-provider) and a real MCP
 * server (@modelcontextprotocol/sdk) on loopback, from @authchart/testkit, with a headless user
 * who consents. It shows the lifecycle the statechart runs: a cold connect, a step-up on 403
 * insufficient_scope while a refresh token is held, a refresh after the server rejects the
 * token, a 100-call burst on an expired token — and counts what reached the servers.
 */
import { startTestkit } from "@authchart/testkit";
import { connectAgent, formatTrace } from "./agent.js";

const kit = await startTestkit({ mcp: { challengeScope: ["mcp:read"] } });
// Trace lines as they come; a run of identical decisions (100 retries) is folded into one line.
let last: { line: string; count: number } | undefined;
const flush = () => {
  if (last) console.log(last.count > 1 ? `${last.line} (×${last.count})` : last.line);
  last = undefined;
};
const trace = (line: string) => {
  if (last?.line === line) last.count++;
  else {
    flush();
    last = { line, count: 1 };
  }
};
const say = (line: string) => {
  flush();
  console.log(line);
};
say(`MCP server            ${kit.mcpUrl}\nauthorization server  ${kit.issuer}\n`);

say("1. connect and call echo (needs mcp:read): 401 -> discovery, registration, authorization");
const agent = await connectAgent({
  serverUrl: kit.mcpUrl,
  client: { clientName: "authchart demo agent", redirectUris: ["http://127.0.0.1:33418/callback"] },
  userAgent: (prompt) => kit.user.authorize(prompt.url),
  onTrace: (entry) => trace(formatTrace(entry)),
});
const counts = () => {
  const refreshes = kit.requests.filter(
    (r) => r.kind === "token" && r.grantType === "refresh_token",
  ).length;
  return `requests so far: mcp=${kit.count("mcp")} (401: ${kit.requests.filter((r) => r.kind === "mcp" && r.status === 401).length}, 403: ${kit.requests.filter((r) => r.kind === "mcp" && r.status === 403).length}) metadata=${kit.count("prm") + kit.count("as-metadata")} registrations=${kit.count("registration")} authorizations=${kit.user.authorizations} token=${kit.count("token")} (refresh: ${refreshes})`;
};

try {
  say(`   -> ${await agent.call("echo", { text: "hello" })}\n   ${counts()}\n`);

  say("2. call write-note (needs mcp:write): 403 insufficient_scope -> step-up, not refresh");
  say(`   -> ${await agent.call("write-note", { text: "a note" })}\n   ${counts()}\n`);

  say("3. the server stops accepting the access token: 401 -> one refresh");
  kit.expireAccessTokens();
  say(`   -> ${await agent.call("echo", { text: "after refresh" })}\n   ${counts()}\n`);

  say("4. again, with 100 concurrent calls: still one refresh for all of them");
  kit.expireAccessTokens();
  const results = await Promise.all(
    Array.from({ length: 100 }, (_, i) => agent.call("echo", { text: `#${i}` })),
  );
  say(`   -> ${results.length} answers\n   ${counts()}\n`);
  say(
    `state: ${agent.session.state().value}, scopes: ${agent.session.state().token?.scopes.join(" ")}`,
  );
} finally {
  await agent.close();
  await kit.close();
}
