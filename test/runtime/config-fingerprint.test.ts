/**
 * The Worker's configuration fingerprint, derived from the list of settings: any Worker setting changes it,
 * nothing else does, and no value is kept in clear.
 */
import { describe, expect, it } from 'vitest'
import { configFingerprint } from '../../src/runtime/config-fingerprint'
import { ENV_KEY_NAMES, ENV_KEYS, WORKER_KEY_NAMES, type WorkerEnv } from '../../src/runtime/env-keys'

const BASE: WorkerEnv = { STORE: 'libsql', TURSO_DATABASE_URL: 'libsql://db.turso.io', API_TOKEN: 'token-one' }

describe('configFingerprint', () => {
  it('covers exactly the settings the Worker reads', () => {
    expect(WORKER_KEY_NAMES).toEqual(ENV_KEY_NAMES.filter((name) => ENV_KEYS[name].entries !== 'node'))
    expect(WORKER_KEY_NAMES).toContain('TURSO_DATABASE_URL')
    expect(WORKER_KEY_NAMES).not.toContain('PORT')
  })

  it('is the same for the same settings, whatever other bindings the env holds', async () => {
    const first = await configFingerprint(BASE)
    expect(first).toMatch(/^[0-9a-f]{64}$/)
    expect(await configFingerprint({ ...BASE })).toBe(first)
    const withOthers = { ...BASE, PAYMENTS_KEY: 'x', PORT: '8080', SWEEP_INTERVAL_MS: '10', DATABASE_URL: 'file:x.db' }
    expect(await configFingerprint(withOthers)).toBe(first)
  })

  it.each(WORKER_KEY_NAMES)('changes when %s changes', async (name) => {
    const before = await configFingerprint(BASE)
    const after = await configFingerprint({ ...BASE, [name]: `${BASE[name] ?? ''}-changed` })
    expect(after).not.toBe(before)
  })

  it('tells unset from empty and keeps no value in clear', async () => {
    const secret = 'sk-very-secret-0123456789'
    const fingerprint = await configFingerprint({ ...BASE, TURSO_AUTH_TOKEN: secret })
    expect(fingerprint).not.toContain(secret)
    expect(fingerprint).not.toBe(await configFingerprint(BASE))
    expect(await configFingerprint({ ...BASE, TURSO_AUTH_TOKEN: '' })).not.toBe(await configFingerprint(BASE))
  })
})
