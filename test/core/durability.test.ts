import { MemoryStore } from '../../src/store/memory/memory-store'
import { runDurabilityCases } from './durability.cases'

runDurabilityCases('MemoryStore', async () => ({ store: new MemoryStore() }))
