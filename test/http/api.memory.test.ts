import { MemoryStore } from '../../src/store/memory/memory-store'
import { runApiContract } from './api.contract'

runApiContract('MemoryStore', async () => new MemoryStore())
