/**
 * @module
 * `npm run build` (and `prepack`): the installable package in `dist/`.
 *
 * - JavaScript: esbuild bundles each package entry (`src/index.ts`, `src/package/*.ts`) to ESM, every dependency
 *   left external, with code splitting, so modules shared by several entries live in one chunk and classes such as
 *   `GorkflowError` are the same class whichever entry a user imports them from. Bundling is what gives Node the file
 *   extensions it needs: the source imports without them (`moduleResolution: Bundler`).
 * - Types: `tsc` emits declarations into `dist/types/`, and their relative imports get the `.js` extensions that
 *   `moduleResolution: NodeNext` requires (Bundler resolution accepts both).
 *
 * `package.json`'s `exports` maps each subpath to a pair of files written here ({@link ENTRIES}); `bin` names the
 * migration command.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const DIST = join(ROOT, 'dist')
const TYPES = join(DIST, 'types')

/** Output name (`dist/<name>.js`) → source; each is one subpath of `package.json`'s `exports`. */
export const ENTRIES: Readonly<Record<string, string>> = {
  index: 'src/index.ts',
  libsql: 'src/package/libsql.ts',
  'libsql-node': 'src/package/libsql-node.ts',
  dynamodb: 'src/package/dynamodb.ts',
  worker: 'src/package/worker.ts',
  node: 'src/package/node.ts',
  /** The `gorkflow-migrate` command (`bin`), not an import. */
  migrate: 'src/cli/migrate.ts',
}

/** A relative module specifier in a declaration file: `from './x'`, `import('./x')`, `import './x'`. */
const RELATIVE_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]*)\2/g

async function main(): Promise<void> {
  rmSync(DIST, { recursive: true, force: true })
  await build({
    absWorkingDir: ROOT,
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([out, source]) => [out, join(ROOT, source)])),
    outdir: DIST,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    // Runtime-neutral output: the Worker entries must not assume Node. Node builtins appear only as `node:` imports
    // of the Node entries, and every package stays an import for the user's installation to resolve.
    platform: 'neutral',
    packages: 'external',
    target: 'es2022',
    logLevel: 'warning',
  })
  execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' })
  for (const file of declarationFiles(TYPES)) {
    const text = readFileSync(file, 'utf8')
    const fixed = text.replace(RELATIVE_SPECIFIER, (_match, prefix: string, quote: string, specifier: string) => {
      return `${prefix}${quote}${withExtension(file, specifier)}${quote}`
    })
    if (fixed !== text) writeFileSync(file, fixed)
  }
}

/** `./x` as Node resolves it from the declaration file `from`: `./x.js` or `./x/index.js`. */
function withExtension(from: string, specifier: string): string {
  if (/\.(js|json)$/.test(specifier)) return specifier
  const target = resolve(dirname(from), specifier)
  if (existsSync(`${target}.d.ts`)) return `${specifier}.js`
  if (existsSync(join(target, 'index.d.ts'))) return `${specifier}/index.js`
  throw new Error(`${from}: cannot resolve ${specifier}`)
}

function declarationFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
}

await main()
