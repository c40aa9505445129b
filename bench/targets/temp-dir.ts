/** @module A temp folder for a target's database files, removed on close. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TempDir {
  readonly path: string
  file(name: string): string
  remove(): void
}

export function tempDir(prefix = 'gorkflow-bench-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return { path, file: (name) => join(path, name), remove: () => rmSync(path, { recursive: true, force: true }) }
}
