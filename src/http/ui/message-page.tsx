/** @module A page that only says something went wrong (not found, expired form, unexpected error). */
import { Layout } from './layout'
import type { PageContext } from './page-context'

export interface MessagePageProps {
  readonly ctx: PageContext
  readonly title: string
  readonly message: string
}

export function MessagePage(props: MessagePageProps) {
  return (
    <Layout ctx={props.ctx} title={props.title}>
      <h1>{props.title}</h1>
      <p>{props.message}</p>
      <p>
        <a href={`${props.ctx.base}/runs`}>Go to the runs list</a>
      </p>
    </Layout>
  )
}
