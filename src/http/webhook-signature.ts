/**
 * @module
 * Signs a webhook per the Standard Webhooks specification (https://www.standardwebhooks.com): `webhook-id`,
 * `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed
 * with the secret's bytes (`whsec_` then base64). Web Crypto only, so the Worker and Node sign alike; receivers verify
 * with any Standard Webhooks library (README, "Completion webhooks").
 */
import { InvalidArgumentError } from '../core/errors'

const SECRET_PREFIX = 'whsec_'
/** Secrets shorter than this give a guessable HMAC key; the spec suggests 24 to 64 bytes. */
const MIN_SECRET_BYTES = 24

export interface WebhookHeaders {
  readonly 'webhook-id': string
  readonly 'webhook-timestamp': string
  readonly 'webhook-signature': string
}

/**
 * The HMAC key of a `whsec_…` secret (the prefix is optional, as in the reference libraries).
 * @throws InvalidArgumentError for a secret that is not base64 or is shorter than 24 bytes
 */
export async function webhookKey(secret: string): Promise<CryptoKey> {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret
  let bytes: Uint8Array<ArrayBuffer>
  try {
    bytes = Uint8Array.from(atob(encoded), (ch) => ch.charCodeAt(0))
  } catch {
    throw new InvalidArgumentError('WEBHOOK_SECRET must be `whsec_` followed by base64')
  }
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new InvalidArgumentError(`WEBHOOK_SECRET must hold at least ${MIN_SECRET_BYTES} bytes (base64 of ${MIN_SECRET_BYTES} random bytes)`)
  }
  return crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
}

/** The three headers for `body`, sent as message `id` at `timestampMs`. */
export async function signWebhook(key: CryptoKey, id: string, timestampMs: number, body: string): Promise<WebhookHeaders> {
  const timestamp = String(Math.floor(timestampMs / 1000))
  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${id}.${timestamp}.${body}`))
  let binary = ''
  for (const byte of new Uint8Array(mac)) binary += String.fromCharCode(byte)
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${btoa(binary)}` }
}
