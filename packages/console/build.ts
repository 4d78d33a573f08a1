import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
/** Where `npm start` and the service look for the console unless told otherwise. */
export const DEFAULT_CONSOLE_OUT = join(here, "dist");

/**
 * Bundles the console into `outDir`: assets/ holds content-hashed script and style files (served
 * with a year's caching, since a change makes a new name), index.html names them and is written
 * last, through a rename, so a service reading the folder never sees a page naming assets not yet
 * written. Assets of earlier builds are left in place: a tab still holding the old page can load them.
 */
export async function buildConsole(outDir: string = DEFAULT_CONSOLE_OUT): Promise<{ script: string; style: string; bytes: number }> {
  const assets = join(outDir, "assets");
  mkdirSync(assets, { recursive: true });
  const result = await build({
    entryPoints: [join(here, "src", "main.tsx")],
    outdir: assets,
    entryNames: "[name]-[hash]",
    assetNames: "[name]-[hash]",
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    jsx: "automatic",
    jsxImportSource: "preact",
    // The client package's sources, as its web entry point exports them: its dist/ is built only when it is packed.
    alias: { "@latchkey/client/web": join(here, "..", "client", "src", "web.ts") },
    metafile: true,
    legalComments: "none",
    logLevel: "silent",
  });
  const outputs = Object.entries(result.metafile.outputs);
  const named = (extension: string) => {
    const found = outputs.find(([path]) => path.endsWith(extension));
    if (!found) throw new Error(`the console build made no ${extension} file`);
    return { name: basename(found[0]), bytes: found[1].bytes };
  };
  const script = named(".js");
  const style = named(".css");
  const page = [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<title>latchkey console</title>",
    `<link rel="stylesheet" href="assets/${style.name}">`,
    `<script type="module" src="assets/${script.name}"></script>`,
    "</head>",
    '<body><div id="app"></div><noscript>The latchkey console needs JavaScript.</noscript></body>',
    "</html>",
    "",
  ].join("\n");
  const pending = join(outDir, `.index.html.${process.pid}`);
  writeFileSync(pending, page);
  renameSync(pending, join(outDir, "index.html"));
  return { script: script.name, style: style.name, bytes: script.bytes + style.bytes };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = resolve(process.argv[2] ?? DEFAULT_CONSOLE_OUT);
  buildConsole(outDir).then(
    (built) =>
      console.log(`console built into ${relative(process.cwd(), outDir) || "."}: ${built.script}, ${built.style} (${built.bytes} bytes before compression)`),
    (error: unknown) => {
      console.error(`the console build failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
