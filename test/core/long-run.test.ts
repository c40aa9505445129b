import { MemoryStore } from '../../src/store/memory/memory-store'
import { runLongRunCases } from './long-run.cases'

runLongRunCases('MemoryStore', async () => ({ store: new MemoryStore() }))
