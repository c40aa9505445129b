/** Signatures made with Web Crypto verify with the `standardwebhooks` reference library, and only for their body. */
import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import { signWebhook, webhookKey } from '../../src/http/webhook-signature'

const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`

describe('signWebhook', () => {
  it('makes headers the standardwebhooks library verifies', async () => {
    const body = JSON.stringify({ run: { runId: 'r-1', status: 'COMPLETED' } })
    const headers = await signWebhook(await webhookKey(SECRET), 'msg_r-1', Date.now(), body)
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/)
    expect(new Webhook(SECRET).verify(body, { ...headers })).toEqual(JSON.parse(body))
  })

  it('does not verify for another body or another secret', async () => {
    const headers = await signWebhook(await webhookKey(SECRET), 'msg_r-2', Date.now(), '{"a":1}')
    expect(() => new Webhook(SECRET).verify('{"a":2}', { ...headers })).toThrow()
    const other = `whsec_${Buffer.from('another-secret-of-32-bytes-long!').toString('base64')}`
    expect(() => new Webhook(other).verify('{"a":1}', { ...headers })).toThrow()
  })

  it('refuses a secret that is not base64 or too short', async () => {
    await expect(webhookKey('whsec_***')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(webhookKey(`whsec_${btoa('short')}`)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })
})
