import { describe, expect, it } from 'vitest'
import { TARGETS } from '../../bench/targets'
import { ALL_BENCH_WORKFLOWS, benchWorkflows } from '../../bench/workloads'

describe('benchmark workflows by durability', () => {
  it('gives each mode W1 and W2 under ids of their own, all registered together', () => {
    const ids = ALL_BENCH_WORKFLOWS.map((w) => w.id)
    expect(ids).toEqual(['bench-w1', 'bench-w2', 'bench-w1-pipelined', 'bench-w2-pipelined'])
    expect(benchWorkflows('pipelined').w1.steps.map((s) => s.id)).toEqual(benchWorkflows('step').w1.steps.map((s) => s.id))
    expect(benchWorkflows('pipelined').w2.steps).toHaveLength(17)
  })

  it('makes only the pipelined workflows pipelined', () => {
    expect(benchWorkflows('step').w1.config).toEqual({})
    expect(benchWorkflows('pipelined').w1.config).toEqual({ durability: 'pipelined' })
    expect(benchWorkflows('pipelined').w2.config).toEqual({ durability: 'pipelined' })
  })
})

describe('benchmark targets', () => {
  it('have unique ids and include the Cloudflare Workflows peer on W1 to W3', () => {
    const ids = TARGETS.map((t) => t.id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(TARGETS.find((t) => t.id === 'cf-workflows')?.workloads).toEqual(['W1', 'W2', 'W3'])
  })

  it('measure the pipelined mode on memory, the file, both HTTP latencies and wrangler dev', () => {
    const pipelined = TARGETS.filter((t) => t.id.endsWith('-pipelined'))
    expect(pipelined.map((t) => t.id)).toEqual([
      'memory-pipelined',
      'libsql-file-pipelined',
      'libsql-http-0ms-pipelined',
      'libsql-http-20ms-pipelined',
      'wrangler-dev-pipelined',
      'wrangler-dev-no-inspector-pipelined',
    ])
  })
})
