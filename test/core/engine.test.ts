import { MemoryStore } from '../../src/store/memory/memory-store'
import { runEngineCases } from './engine.cases'

runEngineCases('MemoryStore', async () => ({ store: new MemoryStore() }))
