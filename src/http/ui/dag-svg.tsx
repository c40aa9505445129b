/**
 * @module
 * A workflow's step graph as inline SVG: nodes from {@link layoutDag}, coloured and labelled by status,
 * edges as paths with arrowheads. Nodes can link to the step's details, so the graph is keyboard-navigable.
 */
import type { WorkflowNode } from '../../core/workflow'
import { FOLDED_ID_PREFIX, foldGraph } from './dag-collapse'
import { layoutDag, type Point } from './dag-layout'
import { statusClass, statusLabel, StatusBadge, type DisplayStatus } from './status'

export interface DagNodeView {
  readonly id: string
  /** Shown in the node; cut with an ellipsis when too long (the full text is in the tooltip). */
  readonly label: string
  /** Null on a workflow's definition, where no step has a status. */
  readonly status: DisplayStatus | null
  /** Where the node links to (the step's details), if anywhere. */
  readonly href?: string | undefined
  /** Shown instead of the status word: a map's item counts (`9,950 ✓ 50 running`). */
  readonly detail?: string | undefined
}

export interface DagSvgProps {
  /** Unique on the page; prefixes the SVG's internal ids (arrowhead marker, title). */
  readonly domId: string
  /** What the graph shows, read by screen readers: `Steps of run …`. */
  readonly caption: string
  readonly nodes: readonly DagNodeView[]
  readonly edges: readonly (readonly [string, string])[]
}

// Fits the default node width of 160 at 13 px system-ui.
const MAX_LABEL_CHARS = 20
// The status line is set smaller.
const MAX_DETAIL_CHARS = 26

/** The graph, long chains and wide fans folded (dag-collapse.ts), with a legend of the statuses it shows. */
export function DagSvg(props: DagSvgProps) {
  const graph = foldGraph(props.nodes, props.edges)
  const layout = layoutDag(
    graph.nodes.map((n) => n.id),
    graph.edges,
  )
  const views = new Map(graph.nodes.map((n) => [n.id, n]))
  const marker = `${props.domId}-arrow`
  const titleId = `${props.domId}-title`
  const statuses = [...new Set(graph.nodes.map((n) => n.status).filter((s): s is DisplayStatus => s !== null))]
  return (
    <figure class="dag" id={props.domId}>
      <svg
        xmlns="http://www.w3.org/2000/svg"
        width={layout.width}
        height={layout.height}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
        role="group"
        aria-labelledby={titleId}
      >
        <title id={titleId}>{props.caption}</title>
        <defs>
          <marker id={marker} viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">
            <path class="arrow" d="M0,0L10,5L0,10z" />
          </marker>
        </defs>
        <g class="edges">
          {layout.edges.map((edge) => (
            <path
              class="edge"
              d={edgePath(edge.points)}
              marker-end={`url(#${marker})`}
              data-from={stepAttr(edge.from)}
              data-to={stepAttr(edge.to)}
            />
          ))}
        </g>
        <g class="nodes">
          {layout.nodes.map((node) => {
            const view = views.get(node.id) as DagNodeView
            const status = view.status
            const cls = `node ${status === null ? 's-not-started' : statusClass(status)}`
            const tooltip =
              (status === null ? view.label : `${view.label}: ${statusLabel(status)}`) + (view.detail === undefined ? '' : ` (${view.detail})`)
            const cx = node.x + node.width / 2
            const body = (
              <>
                <title>{tooltip}</title>
                <rect x={node.x} y={node.y} width={node.width} height={node.height} rx="8" />
                <text class="label" x={cx} y={node.y + (status === null ? node.height / 2 + 5 : 20)} text-anchor="middle">
                  {truncate(view.label, MAX_LABEL_CHARS)}
                </text>
                {status === null ? null : (
                  <text class="status" x={cx} y={node.y + 38} text-anchor="middle">
                    {view.detail === undefined ? statusLabel(status) : truncate(view.detail, MAX_DETAIL_CHARS)}
                  </text>
                )}
              </>
            )
            return view.href === undefined ? (
              <g class={cls} data-step={stepAttr(node.id)} data-folded={folded(node.id)} data-status={status ?? undefined}>
                {body}
              </g>
            ) : (
              <a
                class={cls}
                href={view.href}
                data-step={stepAttr(node.id)}
                data-folded={folded(node.id)}
                data-status={status ?? undefined}
                aria-label={tooltip}
              >
                {body}
              </a>
            )
          })}
        </g>
      </svg>
      {statuses.length === 0 ? null : (
        <figcaption>
          <span class="muted">Legend: </span>
          <ul class="legend">
            {statuses.map((s) => (
              <li>
                <StatusBadge status={s} />
              </li>
            ))}
          </ul>
        </figcaption>
      )}
    </figure>
  )
}

/**
 * A node's label: its id, marked ⏱ for a durable sleep, ✉ for a wait for an event, ↳ for a child workflow and ▦ for
 * a map.
 */
export function workflowNodeLabel(node: WorkflowNode): string {
  if (node.wait?.kind === 'sleep') return `⏱ ${node.id}`
  if (node.wait?.kind === 'event') return `✉ ${node.id}`
  if (node.wait?.kind === 'child') return `↳ ${node.id}`
  if (node.map) return `▦ ${node.id}`
  return node.id
}

/** Smooth vertical S-curves through the points; straight where consecutive points share an x. */
function edgePath(points: readonly Point[]): string {
  const [first, ...rest] = points
  if (!first) return ''
  let d = `M${first.x},${first.y}`
  let prev = first
  for (const p of rest) {
    if (p.x === prev.x) d += `L${p.x},${p.y}`
    else {
      const midY = (prev.y + p.y) / 2
      d += `C${prev.x},${midY} ${p.x},${midY} ${p.x},${p.y}`
    }
    prev = p
  }
  return d
}

/** A node's `data-step`: its step id; none for a folded node, whose id is not a step's. */
function stepAttr(id: string): string | undefined {
  return id.startsWith(FOLDED_ID_PREFIX) ? undefined : id
}

/** A folded node's `data-folded`: the first step it stands for. */
function folded(id: string): string | undefined {
  return id.startsWith(FOLDED_ID_PREFIX) ? id.slice(FOLDED_ID_PREFIX.length) : undefined
}

function truncate(text: string, max: number): string {
  const chars = [...text]
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`
}
