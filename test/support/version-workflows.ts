/**
 * @module
 * Two versions of one workflow for the entries' tests (Node server, Worker): v1 is `a → wait for "go" → b`; v2
 * inserts `c` before `a` (the issue's example, with an event wait instead of a sleep so no test waits on time;
 * `b` receives the event's payload `{ n }`).
 * The id is a parameter, so test files sharing a database do not see each other's runs.
 */
import { z } from 'zod'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'

const num = z.object({ n: z.number() })
const step = (id: string) => defineStep({ id, input: num, output: num, handler: (_ctx, { n }) => ({ n: n + 1 }) })
const go = { schema: num }

export function twoVersions(id: string) {
  const v1 = workflow({ id, version: '1', input: num }).then(step('a')).waitForEvent('go', go).then(step('b')).build()
  const v2 = workflow({ id, version: '2', input: num }).then(step('c')).then(step('a')).waitForEvent('go', go).then(step('b')).build()
  return { v1, v2 }
}
