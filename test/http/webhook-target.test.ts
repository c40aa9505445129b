/** The SSRF guard: every private form of an address is refused, public ones pass, and the opt-in allows private. */
import { describe, expect, it } from 'vitest'
import { checkWebhookUrl } from '../../src/http/webhook-target'

const STRICT = { allowPrivate: false }

describe('checkWebhookUrl', () => {
  it.each([
    'http://127.0.0.1:8080/hook',
    'http://localhost/hook',
    'http://api.localhost/hook',
    'http://2130706433/',
    'http://0x7f.1/',
    'http://0.0.0.0/',
    'http://10.1.2.3/',
    'http://172.20.0.1/',
    'http://192.168.1.1/',
    'http://100.64.0.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:a9fe:a9fe]/',
    'http://[fd00:ec2::254]/',
    'http://[fe80::1]/',
    'http://224.0.0.1/',
  ])('refuses %s', (url) => {
    expect(() => checkWebhookUrl(url, STRICT)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })

  it.each(['ftp://example.com/', 'not a url', '/relative', 'https://user:pw@example.com/', `https://example.com/${'a'.repeat(2100)}`])(
    'refuses the malformed %s even with private targets allowed',
    (url) => {
      expect(() => checkWebhookUrl(url, { allowPrivate: true })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    },
  )

  it.each(['https://hooks.example.com/gorkflow', 'http://93.184.216.34:8443/x', 'https://[2606:4700::1111]/'])('accepts %s', (url) => {
    expect(checkWebhookUrl(url, STRICT).href).toBe(new URL(url).href)
  })

  it('accepts loopback with WEBHOOK_ALLOW_PRIVATE', () => {
    expect(checkWebhookUrl('http://127.0.0.1:9999/hook', { allowPrivate: true }).port).toBe('9999')
  })
})
