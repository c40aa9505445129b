/**
 * @module
 * Compile-time tests of the builder's types: `tsc --noEmit` (part of `npm test`) fails if any line marked
 * `@ts-expect-error` compiles, or if an inferred type differs from what is asserted. Nothing here runs.
 */
import { z } from 'zod'
import { defineStep, type Step } from '../../src/core/step'
import { workflow, type WorkflowDefinition } from '../../src/core/workflow'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const expectType = <T extends true>(_: T) => {}

const num = z.object({ n: z.number() })
const text = z.object({ s: z.string() })

const toText = defineStep({ id: 'toText', input: num, output: text, handler: (_c, { n }) => ({ s: String(n) }) })
const toNum = defineStep({ id: 'toNum', input: text, output: num, handler: (_c, { s }) => ({ n: Number(s) }) })
const plain = defineStep({ id: 'plain', handler: (_c, i: { n: number }) => i.n * 2 })
const asyncPlain = defineStep({ id: 'asyncPlain', handler: async (_c, i: number) => `${i}` })

// Inference from schemas and from handler annotations.
expectType<Equal<typeof toText, Step<{ n: number }, { s: string }, 'toText'>>>(true)
expectType<Equal<typeof plain, Step<{ n: number }, number, 'plain'>>>(true)
expectType<Equal<typeof asyncPlain, Step<number, string, 'asyncPlain'>>>(true)

// A correct chain compiles and its output type flows to build().
const chain = workflow({ id: 'ok', input: num }).then(toText).then(toNum).then(plain).then(asyncPlain).build()
expectType<Equal<typeof chain, WorkflowDefinition<{ n: number }, string>>>(true)

// A wrong chain is a compile error: toNum needs { s }, the previous step outputs { n }.
// @ts-expect-error the input of toNum does not accept { n: number }
workflow({ id: 'bad', input: num }).then(toNum)
// @ts-expect-error asyncPlain needs a number, toText outputs { s }
workflow({ id: 'bad2', input: num }).then(toText).then(asyncPlain)
// @ts-expect-error a handler returning the wrong shape for its output schema
defineStep({ id: 'wrongOut', input: num, output: text, handler: () => ({ s: 1 }) })

// Parallel: the next step receives { [id]: output }; a join of the wrong shape does not compile.
const left = defineStep({ id: 'left', input: num, output: text, handler: () => ({ s: 'l' }) })
const right = defineStep({ id: 'right', input: num, handler: (_c, i) => i.n > 0 })
const join = defineStep({ id: 'join', handler: (_c, i: { left: { s: string }; right: boolean }) => i.right ? i.left.s : '' })
const fan = workflow({ id: 'fan', input: num }).parallel([left, right]).then(join).build()
expectType<Equal<typeof fan, WorkflowDefinition<{ n: number }, string>>>(true)
const badJoin = defineStep({ id: 'badJoin', handler: (_c, i: { left: { s: string }; right: string }) => i.right })
// @ts-expect-error right outputs boolean, the join wants string
workflow({ id: 'fan2', input: num }).parallel([left, right]).then(badJoin)
// @ts-expect-error every parallel step must accept the previous output
workflow({ id: 'fan3', input: num }).parallel([left, toNum])
// A workflow ending in a parallel block outputs the keyed object (docs/decisions.md#run-output).
const leading = workflow({ id: 'lead', input: num }).parallel([left, right]).build()
expectType<Equal<typeof leading, WorkflowDefinition<{ n: number }, { left: { s: string }; right: boolean }>>>(true)

// thenIf: pass-through is allowed only when the unchanged input is a valid output.
const sameShape = defineStep({ id: 'same', input: num, output: num, handler: (_c, i) => ({ n: i.n + 1 }) })
workflow({ id: 'c1', input: num }).thenIf(sameShape, (_c, i) => i.n > 0)
workflow({ id: 'c2', input: num }).thenIf(toText, () => true, { s: 'skipped' })
workflow({ id: 'c3', input: num }).thenIf(toText, () => true, (i) => ({ s: `${i.n}` }))
// @ts-expect-error skipping toText would pass { n } through where { s } is expected: a default is required
workflow({ id: 'c4', input: num }).thenIf(toText, () => true)
// @ts-expect-error the default must match the step's output type
workflow({ id: 'c5', input: num }).thenIf(toText, () => true, { n: 1 })
// @ts-expect-error the condition receives the previous output
workflow({ id: 'c6', input: num }).thenIf(sameShape, (_c, i: { s: string }) => i.s === '')

// Child workflows: the child's input must accept what the step passes; the next step receives the child's output.
const textChild = workflow({ id: 'text-child', input: text }).then(toNum).build()
const viaChild = workflow({ id: 'parent', input: num }).then(toText).child(textChild).then(toText).build()
expectType<Equal<typeof viaChild, WorkflowDefinition<{ n: number }, { s: string }>>>(true)
const mapped = workflow({ id: 'parent2', input: num }).child(textChild, { input: (_ctx, { n }) => ({ s: String(n) }) }).then(plain).build()
expectType<Equal<typeof mapped, WorkflowDefinition<{ n: number }, number>>>(true)
// @ts-expect-error textChild needs { s }, the previous step outputs { n }
workflow({ id: 'bad-child', input: num }).child(textChild)
// @ts-expect-error the input function returns { n }, textChild needs { s }
workflow({ id: 'bad-child2', input: num }).child(textChild, { input: (_ctx, i) => i })
// @ts-expect-error textChild outputs { n }, asyncPlain needs a number
workflow({ id: 'bad-child3', input: num }).then(toText).child(textChild).then(asyncPlain)

// Map: the item step takes the array's element type; the next step receives the array of item outputs, with null
// entries only when failed items continue. Not an array, or elements the step does not accept: a compile error.
const numbers = defineStep({ id: 'numbers', input: num, handler: (_c, { n }) => Array.from({ length: n }, (_, i) => ({ n: i })) })
const overItems = workflow({ id: 'map', input: num }).then(numbers).map(toText, { concurrency: 50 }).build()
expectType<Equal<typeof overItems, WorkflowDefinition<{ n: number }, { s: string }[]>>>(true)
const continuing = workflow({ id: 'map2', input: num }).then(numbers).map(toText, { continueOnError: true }).build()
expectType<Equal<typeof continuing, WorkflowDefinition<{ n: number }, ({ s: string } | null)[]>>>(true)
const sumTexts = defineStep({ id: 'sumTexts', handler: (_c, xs: { s: string }[]) => xs.length })
workflow({ id: 'map3', input: num }).then(numbers).map(toText).then(sumTexts)
const readonlyItems = defineStep({ id: 'readonlyItems', handler: (): readonly number[] => [1, 2] })
workflow({ id: 'map4', input: num }).then(readonlyItems).map(asyncPlain)
// @ts-expect-error toNum needs { s }, the items are { n }
workflow({ id: 'bad-map', input: num }).then(numbers).map(toNum)
// @ts-expect-error the previous output { n } is not an array
workflow({ id: 'bad-map2', input: num }).map(toText)
// @ts-expect-error the map outputs { s }[], not one { s }
workflow({ id: 'bad-map3', input: num }).then(numbers).map(toText).then(toNum)
// @ts-expect-error with continued failures the entries may be null, which sumTexts does not accept
workflow({ id: 'bad-map4', input: num }).then(numbers).map(toText, { continueOnError: true }).then(sumTexts)
