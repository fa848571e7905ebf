// Run after `npm install` on a machine whose registry serves only its own platform's native
// packages (this workplace's mirror answers 404 for e.g. @biomejs/cli-win32-x64): npm then leaves
// those optional dependencies out of package-lock.json, and `npm ci` refuses the lockfile as out
// of sync. This adds an entry for each optional dependency the lockfile names but lacks — version
// only, marked optional — so that `npm ci` accepts the lockfile and skips (or, on such a platform
// with a full registry, fetches) the package, exactly as npm treats optional dependencies.
import { readFileSync, writeFileSync } from "node:fs";

const file = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(file, "utf8"));
const packages = lock.packages;
let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${path ? `${path}/` : ""}node_modules/${name}`;
    const top = `node_modules/${name}`;
    if (packages[nested] || packages[top]) continue;
    packages[top] = { version, ...(entry.dev ? { dev: true } : {}), optional: true };
    added++;
  }
}
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} optional entries`);
