import { describe, expect, it } from 'vitest'
import type { Measurement } from '../../bench/measure'
import { goalsTable, resultsTable, type Outcome } from '../../bench/report'
import { findTarget } from '../../bench/targets'
import type { WorkloadId } from '../../bench/workloads'

function outcome(target: string, workload: WorkloadId, fields: Partial<Measurement>): Outcome {
  const result: Measurement = {
    target,
    workload,
    medianMs: 1,
    p95Ms: 1,
    runsPerSecond: 1,
    repetitions: 1,
    runs: 1,
    storeCallsPerRun: null,
    endpointRequestsPerRun: null,
    cpuMsPerRun: 1,
    peakRssMiB: 1,
    ...fields,
  }
  return { ok: true, target: findTarget(target), workload, result }
}

/** The goals table's row whose label starts with `label`, as its cells. */
function goalRow(outcomes: readonly Outcome[], label: string): string[] {
  const row = goalsTable(outcomes)
    .split('\n')
    .find((line) => line.startsWith(`| ${label}`))
  if (row === undefined) throw new Error(`no goal row ${label}`)
  return row.split('|').map((cell) => cell.trim()).slice(1, -1)
}

describe('goalsTable, issue #18', () => {
  it('meets W1 through wrangler dev, pipelined, at 9 ms and misses it above', () => {
    const label = 'W1 through `wrangler dev`, LibSQL over HTTP, pipelined'
    expect(goalRow([outcome('wrangler-dev-pipelined', 'W1', { medianMs: 9 })], label)).toEqual([
      `${label} (issue #18)`,
      '≤ 9.00 ms',
      '9.00 ms',
      'met',
    ])
    expect(goalRow([outcome('wrangler-dev-pipelined', 'W1', { medianMs: 9.2 })], label)[3]).toBe('**missed**')
  })

  it('meets W1 over the 20 ms endpoint, pipelined, at 75 ms and misses it above', () => {
    const label = 'W1 over the 20 ms endpoint, pipelined'
    expect(goalRow([outcome('libsql-http-20ms-pipelined', 'W1', { medianMs: 75 })], label)[3]).toBe('met')
    expect(goalRow([outcome('libsql-http-20ms-pipelined', 'W1', { medianMs: 76 })], label)[3]).toBe('**missed**')
  })

  it('compares W3 runs/s with the Cloudflare Workflows peer of the same run', () => {
    const label = 'W3 through `wrangler dev` vs Cloudflare Workflows'
    const peer = outcome('cf-workflows', 'W3', { runsPerSecond: 50 })
    expect(goalRow([outcome('wrangler-dev', 'W3', { runsPerSecond: 100 }), peer], label).slice(2)).toEqual([
      '100 vs 50.0 runs/s (2.00×)',
      'met',
    ])
    expect(goalRow([outcome('wrangler-dev', 'W3', { runsPerSecond: 99 }), peer], label)[3]).toBe('**missed**')
    expect(goalRow([outcome('wrangler-dev-pipelined', 'W3', { runsPerSecond: 150 }), peer], 'the same, pipelined')[3]).toBe('met')
  })

  it('says not measured when the peer did not run', () => {
    const row = goalRow([outcome('wrangler-dev', 'W3', { runsPerSecond: 100 })], 'W3 through `wrangler dev` vs Cloudflare Workflows')
    expect(row.slice(2)).toEqual(['not measured', '—'])
  })
})

describe('resultsTable', () => {
  it('shows store calls and HTTP requests per run next to the times, and dashes where there are none', () => {
    const table = resultsTable([
      outcome('libsql-http-0ms-pipelined', 'W1', { medianMs: 5, storeCallsPerRun: 11, endpointRequestsPerRun: 3 }),
      outcome('cf-workflows', 'W1', { medianMs: 20 }),
    ])
    const [header, , ours, peer] = table.split('\n')
    expect(header).toContain('| store calls / run | HTTP requests / run |')
    expect(ours).toMatch(/^\| LibSQL HTTP, 0 ms, pipelined \| W1 \| 5\.00 \| .* \| 11 \| 3 \|/)
    expect(peer).toMatch(/^\| Cloudflare Workflows, `wrangler dev` \(peer\) \| W1 \| 20\.0 \| .* \| — \| — \|/)
  })
})
