import { MemoryStore } from '../../src/store/memory/memory-store'
import { runStoreContract } from './store.contract'

runStoreContract('MemoryStore', async () => ({ store: new MemoryStore() }))
