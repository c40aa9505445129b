import { MemoryStore } from '../../src/store/memory/memory-store'
import { runMapCases } from './map.cases'

runMapCases('MemoryStore', async () => ({ store: new MemoryStore() }))
