/** @module A page that only says something went wrong (not found, expired form, unexpected error). */
import { Layout } from './layout'
import type { PageContext } from './page-context'
import { UserText } from './user-text'

export interface MessagePageProps {
  readonly ctx: PageContext
  readonly title: string
  readonly message: string
}

export function MessagePage(props: MessagePageProps) {
  return (
    <Layout ctx={props.ctx} title={props.title}>
      <h1>{props.title}</h1>
      <p>
        {/* Messages can quote the address, e.g. the run id of a missing run. */}
        <UserText value={props.message} />
      </p>
      <p>
        <a href={`${props.ctx.base}/runs`}>Go to the runs list</a>
      </p>
    </Layout>
  )
}
