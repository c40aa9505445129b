import { MemoryStore } from '../../src/store/memory/memory-store'
import { runVersionCases } from './versions.cases'

runVersionCases('MemoryStore', async () => ({ store: new MemoryStore() }))
