/**
 * `npm run demo`: the lifecycle against real servers on loopback — an oidc-provider
 * authorization server and an MCP SDK server from @authchart/testkit, with a headless user who
 * consents — printing what each step decided.
 */
import { startTestkit } from "@authchart/testkit";
import { Cause, Effect, Exit } from "effect";
import { runLifecycle } from "./lifecycle.js";

const kit = await startTestkit();
console.log(`MCP server ${kit.mcpUrl}\nauthorization server ${kit.issuer}\n`);
const exit = await Effect.runPromiseExit(
  runLifecycle({
    serverUrl: kit.mcpUrl,
    settings: { clientName: "authchart demo", redirectUris: ["http://127.0.0.1:33418/callback"] },
    tool: { name: "echo", arguments: { text: "hello from authchart" } },
    openAuthorizationUrl: (url) => kit.user.authorize(url),
    log: (step, detail) => console.log(`${step.padEnd(30)} ${detail}`),
  }),
);
const counts = ["mcp", "prm", "as-metadata", "registration", "authorization", "token"] as const;
console.log(`\nrequests: ${counts.map((k) => `${k}=${kit.count(k)}`).join(" ")}`);
await kit.close();
if (Exit.isFailure(exit)) {
  console.error(`\nfailed: ${Cause.pretty(exit.cause)}`);
  process.exit(1);
}
