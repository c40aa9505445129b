/**
 * @module
 * A run's step timeline: one row per started step, its bar placed by the latest attempt's start and as long
 * as its duration (still growing while it runs). A step that was retried also shows a dashed segment from
 * its first attempt to its latest one — the earlier attempts and their backoff — and says how many it took.
 * Bars are SVG rects with percentage geometry, so the page needs no inline styles.
 */
import type { StepExecution } from '../../core/model'
import { anchorId, formatAbsolute, formatDuration } from './format'
import { statusClass, statusLabel, StatusBadge } from './status'

export interface TimelineProps {
  /** In execution order. */
  readonly steps: readonly StepExecution[]
  /** Render time: the end of bars still running. */
  readonly now: number
}

// A bar is never thinner than this share of the track, so an instant step stays visible.
const MIN_BAR_PERCENT = 0.6

/** The timeline, or a note when no step has started yet. */
export function Timeline(props: TimelineProps) {
  const started = props.steps.filter((s) => s.startedAt !== null)
  if (started.length === 0) return <p class="muted">No step has started yet.</p>
  // Folds, not Math.min(...steps): spreading tens of thousands of arguments overflows the call stack.
  const origin = started.reduce((first, s) => Math.min(first, s.createdAt, s.startedAt as number), Infinity)
  const end = started.reduce((last, s) => Math.max(last, attemptEnd(s, props.now)), -Infinity)
  const span = Math.max(1, end - origin)
  const pct = (t: number) => Math.min(100, Math.max(0, ((t - origin) / span) * 100))
  return (
    <div>
      <p class="axis muted">
        <span>0 = {formatAbsolute(origin)}</span> <span>total {formatDuration(end - origin)}</span>
      </p>
      <ol class="timeline">
        {started.map((step) => {
          const start = step.startedAt as number
          const stop = attemptEnd(step, props.now)
          const width = Math.max(MIN_BAR_PERCENT, pct(stop) - pct(start))
          // An instant step at the very end still gets its minimum width inside the track.
          const x = Math.min(pct(start), 100 - width)
          const attempts = step.attempt + 1
          const retried = step.attempt > 0 && step.createdAt < start
          const duration = step.status === 'RUNNING' ? props.now - start : step.durationMs
          const summary =
            `${step.stepId}: ${statusLabel(step.status)}, started +${formatDuration(start - origin)}, ` +
            `${formatDuration(duration)}${step.status === 'RUNNING' ? ' so far' : ''}, ` +
            `${attempts} attempt${attempts === 1 ? '' : 's'}`
          return (
            <li data-step={step.stepId}>
              <span class="tl-label">
                <a href={`#${anchorId('step', step.stepId)}`}>{step.stepId}</a> <StatusBadge status={step.status} />
                <small>
                  +{formatDuration(start - origin)} · {formatDuration(duration)}
                  {step.status === 'RUNNING' ? ' so far' : ''}
                  {attempts > 1 ? ` · attempt ${attempts} (${retryLabel(step.attempt - step.interruptions, step.interruptions)})` : ''}
                </small>
              </span>
              <svg aria-hidden="true" focusable="false">
                <rect class="track" x="0" y="3" width="100%" height="12" rx="2" />
                {retried ? (
                  <rect
                    class={`retry ${statusClass(step.status)}`}
                    x={`${fixed(pct(step.createdAt))}%`}
                    y="5"
                    width={`${fixed(Math.max(0, x - pct(step.createdAt)))}%`}
                    height="8"
                  >
                    <title>{`${step.stepId}: earlier attempts and retry backoff`}</title>
                  </rect>
                ) : null}
                <rect
                  class={`bar ${statusClass(step.status)}`}
                  data-step={step.stepId}
                  data-status={step.status}
                  x={`${fixed(x)}%`}
                  y="2"
                  width={`${fixed(width)}%`}
                  height="14"
                  rx="2"
                >
                  <title>{summary}</title>
                </rect>
              </svg>
            </li>
          )
        })}
      </ol>
    </div>
  )
}

/** "2 retries, 1 interrupted": what the attempts before the latest one were. */
function retryLabel(retries: number, interruptions: number): string {
  const parts = [`${retries} ${retries === 1 ? 'retry' : 'retries'}`]
  if (interruptions > 0) parts.push(`${interruptions} interrupted`)
  return parts.join(', ')
}

/** When the latest attempt ended, or `now` while it runs. */
function attemptEnd(step: StepExecution, now: number): number {
  const start = step.startedAt as number
  if (step.status === 'RUNNING') return Math.max(start, now)
  if (step.completedAt !== null && step.status !== 'RETRYING') return Math.max(start, step.completedAt)
  return start + step.durationMs
}

function fixed(value: number): string {
  return value.toFixed(2).replace(/\.?0+$/, '')
}
