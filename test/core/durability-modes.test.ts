import { MemoryStore } from '../../src/store/memory/memory-store'
import { runDurabilityModeCases } from './durability-modes.cases'

runDurabilityModeCases('MemoryStore', async () => ({ store: new MemoryStore() }))
