// Builds the debug page into bundle/ (app.js, app.css, index.html), which is committed and
// embedded in the cableway binary, so `cargo build` needs no Node. `--check` builds in
// memory and fails when bundle/ differs: the freshness check of tests/run.sh.
import { build } from "esbuild";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const check = process.argv.includes("--check");

const common = { bundle: true, minify: true, write: false, logLevel: "warning", legalComments: "eof", charset: "utf8" };
const [js, css] = await Promise.all([
  build({ ...common, entryPoints: [join(here, "src/main.ts")], format: "esm", target: "es2022", outfile: "app.js" }),
  build({ ...common, entryPoints: [join(here, "src/style.css")], outfile: "app.css" }),
]);
const files = {
  "app.js": js.outputFiles[0].text,
  "app.css": css.outputFiles[0].text,
  "index.html": await readFile(join(here, "src/index.html"), "utf8"),
};

const stale = [];
await mkdir(join(here, "bundle"), { recursive: true });
for (const [name, text] of Object.entries(files)) {
  const path = join(here, "bundle", name);
  const current = await readFile(path, "utf8").catch(() => null);
  if (current === text) continue;
  if (check) stale.push(name);
  else await writeFile(path, text);
}
if (stale.length > 0) {
  console.error(`server/debug-ui/bundle is stale: ${stale.join(", ")} differ from the sources.`);
  console.error("  = help: run `npm ci && npm run build` in server/debug-ui and commit bundle/");
  process.exit(1);
}
console.log(check ? "server/debug-ui/bundle is up to date" : "server/debug-ui/bundle written");
