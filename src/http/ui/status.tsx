/**
 * @module
 * How a status looks: a CSS class (colour), a text label and a glyph, so colour is never the only signal.
 */
import type { RunStatus, StepStatus } from '../../core/model'

/** A run's or a step's status, plus NOT_STARTED for a step with no execution record yet. */
export type DisplayStatus = RunStatus | StepStatus | 'NOT_STARTED'

const GLYPHS: Record<DisplayStatus, string> = {
  NOT_STARTED: '○',
  PENDING: '○',
  RUNNING: '▶',
  RETRYING: '↻',
  // U+2016, not ⏸ (U+23F8): common text fonts have it, so it never renders as a missing-glyph box.
  PAUSED: '‖',
  COMPLETED: '✓',
  FAILED: '✕',
  SKIPPED: '↷',
  CANCELLED: '⊘',
}

/** The CSS class that colours a status: `s-completed`, `s-not-started`, … */
export function statusClass(status: DisplayStatus): string {
  return `s-${status.toLowerCase().replace('_', '-')}`
}

/** The words shown for a status. */
export function statusLabel(status: DisplayStatus): string {
  return status === 'NOT_STARTED' ? 'NOT STARTED' : status
}

/** A status pill: glyph (hidden from screen readers) and label on the status colour. */
export function StatusBadge(props: { status: DisplayStatus }) {
  return (
    <span class={`badge ${statusClass(props.status)}`} data-status={props.status}>
      <span aria-hidden="true">{GLYPHS[props.status]}</span>
      {statusLabel(props.status)}
    </span>
  )
}
