/**
 * @module
 * The Worker's configuration fingerprint: a change in any Worker setting of `env-keys.ts` (a rotated secret, a
 * new LOG_LEVEL) rebuilds the runtime at the next event. A SHA-256 digest, so secrets are never held in clear
 * beside the runtime they built.
 */
import { WORKER_KEY_NAMES, type WorkerEnv } from './env-keys'

/** Hex SHA-256 of the Worker settings' values, in the list's order; other bindings do not count. */
export async function configFingerprint(env: WorkerEnv): Promise<string> {
  const values = WORKER_KEY_NAMES.map((name) => {
    const value: unknown = env[name]
    return typeof value === 'string' ? value : null
  })
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify(values)))
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('')
}
