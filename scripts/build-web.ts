// Builds the dashboard (src/web/client) into dist/web: one ES module bundle, its CSS (ours and
// uPlot's) and index.html. Run by `npm run build` after tsc. The client imports the NPZ reader from
// src/contracts (through its index.ts, like any module); those contract modules are declarations
// without side effects, so they are marked side-effect free and everything the browser does not use
// (zod schemas, node:crypto identity code) is dropped. Node built-ins resolve to an empty stub that
// fails loudly if a browser path ever calls one; test/dashboard-build.test.ts checks none is left.
import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const CLIENT = join(ROOT, 'src', 'web', 'client');
const CONTRACTS = join(ROOT, 'src', 'contracts') + sep;

const browserBoundary: Plugin = {
  name: 'browser-boundary',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => ({
      path: args.path,
      namespace: 'node-stub',
      sideEffects: false,
    }));
    b.onLoad({ filter: /.*/, namespace: 'node-stub' }, (args) => ({
      // CommonJS, so any named import links; calling one throws.
      contents: `module.exports = new Proxy({}, { get: (_, name) => () => {
        throw new Error(String(name) + ' of ${args.path} is not available in the browser');
      } });`,
      loader: 'js',
    }));
    b.onResolve({ filter: /^\.\.?\// }, async (args) => {
      if (args.pluginData === 'resolved') return undefined;
      const result = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: 'resolved',
      });
      if (result.errors.length > 0 || !result.path.startsWith(CONTRACTS)) return undefined;
      return { path: result.path, sideEffects: false };
    });
  },
};

export interface DashboardBuild {
  outDir: string;
  metafile: Metafile;
  /** Bytes of the JavaScript bundle. */
  bundleBytes: number;
  /** Source files with code in the bundle (after tree shaking), relative to the repository. */
  bundledInputs: string[];
}

/** Bundles the dashboard into `outDir` (default dist/web). */
export async function buildDashboard(outDir = join(ROOT, 'dist', 'web', 'public')): Promise<DashboardBuild> {
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: { app: join(CLIENT, 'main.ts'), style: join(CLIENT, 'style.css') },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: true,
    sourcemap: true,
    metafile: true,
    legalComments: 'linked',
    logLevel: 'warning',
    plugins: [browserBoundary],
  });
  await copyFile(join(CLIENT, 'index.html'), join(outDir, 'index.html'));
  const appJs = Object.keys(result.metafile.outputs).find((o) => o.endsWith('app.js')) ?? '';
  const output = result.metafile.outputs[appJs];
  const bundledInputs = Object.entries(output?.inputs ?? {})
    .filter(([, input]) => input.bytesInOutput > 0)
    .map(([path]) => path);
  return { outDir, metafile: result.metafile, bundleBytes: output?.bytes ?? 0, bundledInputs };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const built = await buildDashboard();
  console.log(`dashboard: ${built.outDir} (app.js ${(built.bundleBytes / 1024).toFixed(1)} KiB)`);
}
