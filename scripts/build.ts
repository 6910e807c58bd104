/**
 * `pnpm build`: every workspace package to JavaScript in `packages/<name>/dist` (ESM, Node 20, with
 * source maps), so the processes run under plain `node` without tsx:
 *
 *   node packages/builder/dist/main.js · node packages/relay/dist/main.js · node packages/api/dist/main.js
 *
 * - Each entry of a package's `exports` (`src/index.ts` → `dist/index.js`) is bundled with its own
 *   files; every bare import (npm packages and other `@chat3/*` packages) stays an import.
 * - A service's `src/main.ts` → `dist/main.js` also bundles the workspace packages it uses, so the
 *   compiled process never resolves `@chat3/*` at run time and the packages' `exports` stay on
 *   `src/*.ts` for tsx and vitest. Its npm imports stay imports, and each must be a dependency the
 *   service's own package.json declares: the image installs exactly those (`pnpm deploy --prod`), so
 *   an undeclared one fails the build here rather than the container at start.
 *
 * - The ops tools `scripts/republish.ts` and `scripts/dlq.ts` → `tools/dist/republish.js` and
 *   `tools/dist/dlq.js`, bundled the same way. Their npm imports must be dependencies of
 *   `tools/package.json`, the workspace package the image deploys for them (`node tools/dist/<tool>.js`).
 *
 * - Declarations: one `tsc -p tsconfig.build.json` (which also type-checks the sources) writes
 *   `.d.ts` files for every package's `src/`, copied to its `dist/` next to the JavaScript.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build, type Plugin } from 'esbuild';

const root = join(import.meta.dirname, '..');
const packagesDir = join(root, 'packages');
/** Packages that run as processes: `src/main.ts` → `dist/main.js`. */
export const SERVICES = ['builder', 'relay', 'api'] as const;
/** The ops tools: `<source>` → `tools/dist/<name>.js`, with the npm dependencies of `tools/package.json`. */
export const TOOLS = { republish: 'scripts/republish.ts', dlq: 'scripts/dlq.ts' } as const;
export const TOOLS_DIR = 'tools';
/** Where the build writes a tool, relative to the repository (and, deployed, to the image's /app). */
export const toolOutput = (tool: keyof typeof TOOLS) => `${TOOLS_DIR}/dist/${tool}.js`;

interface PackageJson {
  name: string;
  exports?: Record<string, string>;
  dependencies?: Record<string, string>;
}

const readPackage = (dir: string): PackageJson => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
const packageName = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', sourcemap: true, logLevel: 'warning' } as const;

/** Keeps npm imports external, bundles `@chat3/*`, and records which npm packages the bundle imports. */
function externalNpmPackages(seen: Set<string>): Plugin {
  return {
    name: 'external-npm-packages',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('node:') || args.path.startsWith('@chat3/')) return undefined;
        seen.add(packageName(args.path));
        return { path: args.path, external: true };
      });
    },
  };
}

/**
 * One self-contained process: `entry` with the workspace code it uses → `outfile`. Fails when the bundle
 * imports an npm package that `pkgDir/package.json` does not declare as a dependency: the image installs
 * only those (`pnpm deploy --prod`).
 */
export async function bundleProcess(entry: string, outfile: string, pkgDir: string): Promise<void> {
  const pkg = readPackage(pkgDir);
  const imported = new Set<string>();
  await build({ ...common, entryPoints: [entry], outfile, plugins: [externalNpmPackages(imported)] });
  const undeclared = [...imported].filter((name) => !pkg.dependencies?.[name]);
  if (undeclared.length > 0) {
    throw new Error(
      `${pkg.name}: ${relative(pkgDir, outfile)} imports ${undeclared.join(', ')}, which ${relative(root, join(pkgDir, 'package.json'))} does not declare`,
    );
  }
}

async function buildPackage(dir: string): Promise<string[]> {
  const pkgDir = join(packagesDir, dir);
  const pkg = readPackage(pkgDir);
  const outdir = join(pkgDir, 'dist');
  rmSync(outdir, { recursive: true, force: true });
  const entries = Object.values(pkg.exports ?? {}).map((p) => join(pkgDir, p));
  await build({ ...common, entryPoints: entries, outdir, outbase: join(pkgDir, 'src'), packages: 'external' });
  const built = entries.map((e) => relative(root, e));

  const main = join(pkgDir, 'src/main.ts');
  if ((SERVICES as readonly string[]).includes(dir) && existsSync(main)) {
    await bundleProcess(main, join(outdir, 'main.js'), pkgDir);
    built.push(relative(root, main));
  }
  return built;
}

/** `scripts/<tool>.ts` → `tools/dist/<tool>.js` for each of TOOLS. */
async function buildTools(): Promise<string[]> {
  const toolsDir = join(root, TOOLS_DIR);
  rmSync(join(toolsDir, 'dist'), { recursive: true, force: true });
  for (const [tool, source] of Object.entries(TOOLS))
    await bundleProcess(join(root, source), join(root, toolOutput(tool as keyof typeof TOOLS)), toolsDir);
  return Object.values(TOOLS);
}

/** `.d.ts` for every package, from one tsc run, into each package's dist/. */
function emitDeclarations(dirs: string[]): void {
  const typesDir = join(root, '.cache/build-types');
  rmSync(typesDir, { recursive: true, force: true });
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (tsc.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${tsc.status})`);
  for (const dir of dirs) cpSync(join(typesDir, dir, 'src'), join(packagesDir, dir, 'dist'), { recursive: true });
}

async function main(): Promise<void> {
  const dirs = readdirSync(packagesDir).filter((d) => existsSync(join(packagesDir, d, 'package.json')));
  for (const dir of dirs) {
    const built = await buildPackage(dir);
    process.stderr.write(`built packages/${dir}/dist (${built.length} entr${built.length === 1 ? 'y' : 'ies'})\n`);
  }
  const tools = await buildTools();
  process.stderr.write(`built ${TOOLS_DIR}/dist (${tools.join(', ')})\n`);
  emitDeclarations(dirs);
  process.stderr.write('declarations written to packages/*/dist\n');
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  main().catch((err: unknown) => {
    process.stderr.write(`build failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
