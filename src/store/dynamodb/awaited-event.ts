/**
 * @module
 * The commit's part of the wake-up guarantee on DynamoDB (see the port's rules in core/store.ts): `deliverEvent`
 * adds each event's name to the run item's `deliveredEvents` set in the same write as it records the event, and a
 * commit that would leave the run waiting for an event with a later wakeAt is conditioned on that event not being
 * in the set. A refusal for that reason is answered by writing the commit again with wakeAt = now.
 */
import { awaitedEventName } from '../../core/model'
import type { RunPatch } from '../../core/store'
import type { Expression } from './expression'
import { n, readOptionalString, RUN, s, type Item } from './mappers'

/** The condition that the event the run would wait for is undelivered; null when the commit cannot leave it so. */
export function awaitedEventUndelivered(expr: Expression, patch: RunPatch, now: number): string | null {
  if (patch.waitingFor !== undefined) {
    const awaited = awaitedEventName(patch.waitingFor)
    if (awaited === null) return null
    if (patch.wakeAt !== undefined && (patch.wakeAt === null || patch.wakeAt <= now)) return null
    const notDelivered = `NOT contains(${expr.name(RUN.deliveredEvents)}, ${expr.value(s(awaited))})`
    if (patch.wakeAt !== undefined) return notDelivered
    const wake = expr.name(RUN.wakeAt)
    return `(attribute_not_exists(${wake}) OR ${wake} <= ${expr.value(n(now))} OR ${notDelivered})`
  }
  if (patch.wakeAt === undefined || patch.wakeAt === null || patch.wakeAt <= now) return null
  const waitEvent = expr.name(RUN.waitEvent)
  return `(attribute_not_exists(${waitEvent}) OR NOT contains(${expr.name(RUN.deliveredEvents)}, ${waitEvent}))`
}

/** Whether a refused commit's old run item shows the event the run would wait for as delivered. */
export function awaitedEventWasDelivered(item: Item, patch: RunPatch): boolean {
  const awaited =
    patch.waitingFor === undefined
      ? readOptionalString(item, RUN.waitEvent)
      : awaitedEventName(patch.waitingFor)
  return awaited !== null && (item[RUN.deliveredEvents]?.SS ?? []).includes(awaited)
}
