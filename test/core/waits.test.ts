import { MemoryStore } from '../../src/store/memory/memory-store'
import { runWaitCases } from './waits.cases'

runWaitCases('MemoryStore', async () => ({ store: new MemoryStore() }))
