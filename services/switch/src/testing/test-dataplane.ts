import { type JsonLogger, TENANT_PORT_BUDGETS } from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import type { SwitchConfig } from '../config/switch.config';
import { DataplaneService } from '../dataplane/dataplane.service';

/**
 * The switch's settings for data path tests: small batches and a fast port scan, no trace sampling, counters to
 * Kafka once a minute (the tests read them from `show()`), a CPU budget no test without programs reaches.
 */
const TEST_DATAPLANE_CONFIG = {
  FLOW_CACHE_SIZE: 1024,
  SWITCH_BATCH: 64,
  SWITCH_TENANT_QUANTUM: 256,
  SWITCH_CONSUMER: 'switch-1',
  PORT_SCAN_INTERVAL_MS: 100,
  TRACE_SAMPLING_RATE: 0,
  TRACE_SNAP_BYTES: 0,
  COUNTERS_INTERVAL_MS: 60_000,
  SWITCH_STAGES: 4,
  REGISTER_CELLS_PER_STAGE: 1024,
  PROGRAM_CPU_NS_PER_SECOND: 500_000_000,
  PROGRAM_CPU_BURST_NS: 20_000_000,
  PROGRAM_CPU_WAIT_FRAMES: 1024,
  TENANT_TX_MEMORY_BYTES: TENANT_PORT_BUDGETS.txMemoryBytes,
  TENANT_RX_FRAMES: TENANT_PORT_BUDGETS.rxFrames,
  TENANT_RX_BYTES: TENANT_PORT_BUDGETS.rxBytes,
} as SwitchConfig;

/**
 * The switch's data path in this process, on `redis` (its connection as in a lab), started. Kafka is best effort on
 * the data path: its client points at a broker that is not there, which holds nothing up. Stop it with
 * `onApplicationShutdown()`.
 */
export function startTestDataplane(redis: Redis, logger: JsonLogger, kafkaClientId: string): DataplaneService {
  const kafka = new Kafka({ clientId: kafkaClientId, brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING });
  const dataplane = new DataplaneService(TEST_DATAPLANE_CONFIG, redis, kafka, logger);
  dataplane.onApplicationBootstrap();
  return dataplane;
}
