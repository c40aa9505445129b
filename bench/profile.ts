/**
 * @module
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and tells where the time went: self time by area
 * (our source files, each npm package, Node internals, the garbage collector) and the hottest functions.
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: readonly number[]
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
  readonly startTime: number
  readonly endTime: number
}

export interface ProfileSummary {
  readonly totalMs: number
  /** Self time by area, largest first. */
  readonly areas: readonly { readonly area: string; readonly ms: number; readonly share: number }[]
  /** Hottest functions by self time. */
  readonly functions: readonly { readonly name: string; readonly area: string; readonly ms: number; readonly share: number }[]
}

/** The area a frame belongs to: `src/…` file, npm package, `node:` internals, or a V8 pseudo-frame. */
export function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)'
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  if (pkg) return pkg[1] as string
  if (url.startsWith('node:')) return 'node internals'
  const own = /\/((?:src|bench|scripts|test|drizzle)\/.*)$/.exec(url)
  return own ? (own[1] as string) : url
}

export function summarizeProfile(path: string, topFunctions = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfUs = new Map<number, number>()
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  // Idle time is the process waiting (I/O, timers), not work: leave it out of the shares.
  const areas = new Map<string, number>()
  const functions = new Map<string, { area: string; us: number }>()
  let totalUs = 0
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame
    if (!frame || frame.functionName === '(idle)') continue
    totalUs += us
    const area = areaOf(frame.url, frame.functionName)
    areas.set(area, (areas.get(area) ?? 0) + us)
    const name = `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`
    const entry = functions.get(name) ?? { area, us: 0 }
    entry.us += us
    functions.set(name, entry)
  }
  const share = (us: number) => (totalUs === 0 ? 0 : us / totalUs)
  return {
    totalMs: totalUs / 1000,
    areas: [...areas]
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, ms: us / 1000, share: share(us) })),
    functions: [...functions]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, topFunctions)
      .map(([name, { area, us }]) => ({ name, area, ms: us / 1000, share: share(us) })),
  }
}

/** Markdown for one profile: the areas over 1 % and the hottest functions. */
export function profileMarkdown(title: string, summary: ProfileSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`
  const areas = summary.areas
    .filter((a) => a.share >= 0.01)
    .map((a) => `| ${a.area} | ${a.ms.toFixed(0)} | ${pct(a.share)} |`)
  const functions = summary.functions.map((f) => `| \`${f.name}\` | ${f.area} | ${pct(f.share)} |`)
  return [
    `### ${title}`,
    '',
    `Busy (non-idle) CPU time sampled: ${summary.totalMs.toFixed(0)} ms.`,
    '',
    '| Area (self time) | ms | share |',
    '|---|---:|---:|',
    ...areas,
    '',
    '| Hottest functions (self time) | area | share |',
    '|---|---|---:|',
    ...functions,
  ].join('\n')
}

function shortUrl(url: string): string {
  if (url === '') return ''
  const pkg = /\/node_modules\/(.*)$/.exec(url)
  if (pkg) return pkg[1] as string
  const own = /\/((?:src|bench|scripts|test|drizzle)\/.*)$/.exec(url)
  return own ? (own[1] as string) : url.replace(/^file:\/\//, '')
}
