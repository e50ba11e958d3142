// Parses a GitHub Actions workflow with GitHub's own parser,
// @actions/workflow-parser, and converts it the way GitHub does before a run.
// Usage: node parse-workflow.mjs NODE_MODULES WORKFLOW.yml
// Prints "ok: jobs: a, b" and exits 0, or prints each error and exits 1.
import fs from "node:fs";
import { register } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

// The package imports its JSON schemas without an import attribute (it is
// built for bundlers); Node.js 20 refuses that, so a load hook reads them.
register(
  "data:text/javascript," +
    encodeURIComponent(`
import fs from "node:fs";
export async function load(url, context, next) {
  if (url.startsWith("file:") && url.endsWith(".json"))
    return { format: "json", source: fs.readFileSync(new URL(url)), shortCircuit: true };
  return next(url, context);
}`),
);

const [modules, file] = process.argv.slice(2);
if (!modules || !file) {
  console.error("usage: node parse-workflow.mjs NODE_MODULES WORKFLOW.yml");
  process.exit(2);
}
const entry = path.join(modules, "@actions/workflow-parser/dist/index.js");
const { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } = await import(
  pathToFileURL(entry).href
);

const parsed = parseWorkflow(
  { name: file, content: fs.readFileSync(file, "utf8") },
  new NoOperationTraceWriter(),
);
const errors = parsed.context.errors.getErrors().map((e) => e.message);
if (errors.length === 0 && parsed.value) {
  const template = await convertWorkflowTemplate(parsed.context, parsed.value);
  for (const e of template.errors ?? []) errors.push(e.Message ?? e.message ?? String(e));
  if (errors.length === 0) {
    console.log("ok: jobs: " + template.jobs.map((j) => j.id.value).join(", "));
    process.exit(0);
  }
}
if (errors.length === 0) errors.push(file + ": nothing parsed");
for (const e of errors) console.log("error: " + e);
process.exit(1);
