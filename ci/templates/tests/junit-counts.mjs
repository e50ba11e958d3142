// Reads a JUnit file with xunit-viewer's own parser (the one its CLI and web
// page use) and prints what that consumer counts, one line:
//   tests=N failures=N errors=N skipped=N passed=N
// then xunit-viewer's own summary line. Exits 1 when it cannot parse the file.
// Usage: node junit-counts.mjs NODE_MODULES JUNIT.xml
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [modules, file] = process.argv.slice(2);
if (!modules || !file) {
  console.error("usage: node junit-counts.mjs NODE_MODULES JUNIT.xml");
  process.exit(2);
}
const cli = path.join(modules, "xunit-viewer/src/cli");
const parse = (await import(pathToFileURL(path.join(cli, "parse.js")).href)).default;
const describe = (await import(pathToFileURL(path.join(cli, "get-description.js")).href)).default;

let result;
try {
  result = await parse(fs.readFileSync(file, "utf8"));
} catch (e) {
  console.log("error: xunit-viewer cannot parse " + file + ": " + e.message);
  process.exit(1);
}
const counts = { tests: 0, failure: 0, error: 0, skipped: 0, passed: 0 };
for (const suite of Object.values(result.suites)) {
  for (const test of Object.values(suite.tests)) {
    counts.tests += 1;
    const status = test.status || "unknown";
    counts[status] = (counts[status] ?? 0) + 1;
  }
}
console.log(
  `tests=${counts.tests} failures=${counts.failure} errors=${counts.error} ` +
    `skipped=${counts.skipped} passed=${counts.passed}`,
);
console.log("xunit-viewer: " + describe(result));
