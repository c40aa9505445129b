import { DEFAULT_PAYLOAD_LIMITS } from '../../src/core/limits'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { runLimitCases } from './limits.cases'

// The memory store declares no ceiling of its own: V8's longest string (2^29 - 24 code units) is the only bound.
runLimitCases('MemoryStore', async () => ({ store: new MemoryStore() }), { defaults: DEFAULT_PAYLOAD_LIMITS, ceiling: null })
