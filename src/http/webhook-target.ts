/**
 * @module
 * The SSRF guard of completion webhooks: a callback URL must be http(s), carry no credentials, and (unless
 * `WEBHOOK_ALLOW_PRIVATE=1`) name no loopback, private, link-local, shared, multicast or cloud-metadata address. The URL
 * parser has already turned `http://2130706433/`, `http://0x7f.1/` and `[::ffff:127.0.0.1]` into their canonical
 * forms, so the checks below see what a fetch would connect to. A host name is judged by its name: resolving it is left
 * to the platform (a Worker's fetch never reaches private addresses; see the README, "Completion webhooks").
 */
import { InvalidArgumentError } from '../core/errors'

/** Longest accepted callback URL. */
export const MAX_WEBHOOK_URL_LENGTH = 2_048

/** IPv4 ranges a webhook may not target: [first octets as a number, prefix length]. */
const BLOCKED_V4: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // shared address space (carrier-grade NAT)
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, and the cloud metadata address 169.254.169.254
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and broadcast
]

const BLOCKED_NAMES = /(^|\.)(localhost|internal|local)$/i

/**
 * The callback URL, checked.
 * @throws InvalidArgumentError naming why the URL is refused
 */
export function checkWebhookUrl(raw: string, options: { readonly allowPrivate: boolean }): URL {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) throw refused(`is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`)
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw refused('is not an absolute URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refused('must use http or https')
  if (url.username !== '' || url.password !== '') throw refused('must not carry credentials')
  if (options.allowPrivate) return url
  const host = url.hostname
  if (host.startsWith('[')) {
    if (blockedV6(host.slice(1, -1))) throw refused('targets a loopback, private or link-local IPv6 address')
  } else if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) {
    if (blockedV4(host)) throw refused('targets a loopback, private, link-local or reserved IPv4 address')
  } else if (BLOCKED_NAMES.test(host.replace(/\.$/, ''))) {
    throw refused('targets a local or internal host name')
  }
  return url
}

function refused(why: string): InvalidArgumentError {
  return new InvalidArgumentError(`callbackUrl ${why} (private targets need WEBHOOK_ALLOW_PRIVATE=1)`)
}

function v4Number(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0)
}

function blockedV4(address: string): boolean {
  const n = v4Number(address)
  return BLOCKED_V4.some(([base, bits]) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(v4Number(base) / 2 ** (32 - bits)))
}

/** `address` as the URL parser writes it: lower-case, compressed, an embedded IPv4 as two hex groups. */
function blockedV6(address: string): boolean {
  if (address === '::' || address === '::1') return true
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(address)
  if (mapped) {
    const n = parseInt(mapped[1] as string, 16) * 65_536 + parseInt(mapped[2] as string, 16)
    return blockedV4([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'))
  }
  const first = parseInt(address.split(':')[0] || '0', 16)
  // fc00::/7 unique local (AWS metadata fd00:ec2::254 among them), fe80::/10 link-local, ff00::/8 multicast.
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00
}
