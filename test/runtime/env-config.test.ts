/**
 * Reading the settings of src/runtime/env-keys.ts: one name per setting on both entries, the older database names still
 * accepted on Node (and only there), and refusals that name the variable without quoting a secret.
 */
import { describe, expect, it } from 'vitest'
import { ConfigurationError, readDatabase, readSettings, readString } from '../../src/runtime/env-config'
import { DEFAULT_DATABASE_URL } from '../../src/runtime/env-keys'

describe('readSettings', () => {
  it('applies the defaults to an empty environment, with the default database on Node only', () => {
    expect(readSettings({}, 'node')).toEqual({ store: 'libsql', apiTokens: [], logLevel: 'info', database: { url: DEFAULT_DATABASE_URL } })
    expect(readSettings({}, 'worker')).toEqual({ store: 'libsql', apiTokens: [], logLevel: 'info' })
  })

  it('reads every shared setting the same way on both entries', () => {
    const env = {
      STORE: ' Memory ',
      API_TOKEN: 'a, b,,',
      UI_SESSION_SECRET: 's3cret',
      TURSO_DATABASE_URL: 'libsql://db.turso.io',
      TURSO_AUTH_TOKEN: 'tok',
      LOG_LEVEL: 'warn',
      LEASE_MS: '60000',
      RETENTION_DAYS: '2',
      MAX_BODY_BYTES: '2048',
      WAIT_BUDGET_MS: '0',
    }
    const expected = {
      store: 'memory',
      apiTokens: ['a', 'b'],
      uiSessionSecret: 's3cret',
      database: { url: 'libsql://db.turso.io', authToken: 'tok' },
      logLevel: 'warn',
      leaseMs: 60_000,
      retentionMs: 2 * 86_400_000,
      maxBodyBytes: 2048,
      waitBudgetMs: 0,
    }
    expect(readSettings(env, 'node')).toEqual(expected)
    expect(readSettings(env, 'worker')).toEqual(expected)
  })

  it('refuses an unknown STORE and a bad number, naming the variable', () => {
    expect(() => readSettings({ STORE: 'postgres' }, 'node')).toThrow('STORE must be libsql, dynamodb or memory, got "postgres"')
    expect(() => readSettings({ LEASE_MS: '30s' }, 'worker')).toThrow(new ConfigurationError('LEASE_MS must be a non-negative integer, got "30s"'))
  })
})

describe('the older database names (DATABASE_URL, DATABASE_AUTH_TOKEN)', () => {
  it('are read on Node when the current names are unset', () => {
    expect(readDatabase({ DATABASE_URL: 'http://127.0.0.1:8080', DATABASE_AUTH_TOKEN: 'old-token' }, 'node')).toEqual({
      url: 'http://127.0.0.1:8080',
      authToken: 'old-token',
    })
    expect(readString({ DATABASE_URL: ' file:a.db ' }, 'TURSO_DATABASE_URL', 'node')).toBe('file:a.db')
  })

  it('are ignored on the Worker, which has one name per setting', () => {
    expect(readDatabase({ DATABASE_URL: 'http://127.0.0.1:8080' }, 'worker')).toBeUndefined()
    expect(readString({ DATABASE_AUTH_TOKEN: 'old-token' }, 'TURSO_AUTH_TOKEN')).toBeUndefined()
  })

  it('may repeat the current name, but not contradict it (and the refusal quotes no value)', () => {
    const same = { TURSO_DATABASE_URL: 'file:a.db', DATABASE_URL: 'file:a.db' }
    expect(readDatabase(same, 'node')).toEqual({ url: 'file:a.db' })
    const env = { TURSO_AUTH_TOKEN: 'new-secret', DATABASE_AUTH_TOKEN: 'old-secret' }
    expect(() => readDatabase(env, 'node')).toThrow(
      'TURSO_AUTH_TOKEN and DATABASE_AUTH_TOKEN (its older name) are both set, to different values: unset DATABASE_AUTH_TOKEN',
    )
    const refusal = (() => {
      try {
        readSettings(env, 'node')
      } catch (err) {
        return err
      }
      return undefined
    })()
    expect(refusal).toBeInstanceOf(ConfigurationError)
    expect((refusal as Error).message).not.toMatch(/new-secret|old-secret/)
    // The Worker reads only the current names, so there is nothing to contradict.
    expect(readString(env, 'TURSO_AUTH_TOKEN', 'worker')).toBe('new-secret')
  })
})
