// The OTLP relay (services/telemetry/src/otlp-relay): in Docker mode, the only trace endpoint tenant VMs reach.
// Not instrumented itself: its own spans would go through Jaeger for nothing a VM does not already show.
import { JsonLogger, loadConfigOrExit } from '@tenantlab/shared';
import { otlpRelayEnv, parseRelayVms } from './otlp-relay.config';
import { createOtlpRelay } from './otlp-relay.server';
import { SourceRateLimiter } from './source-rate-limiter';
import { VmSources } from './vm-sources';

const REQUEST_COST_BYTES = 1024;

const config = loadConfigOrExit('otlp-relay', otlpRelayEnv);
const logger = new JsonLogger('otlp-relay', config.LOG_LEVEL);
const vms = parseRelayVms(config.RELAY_VMS);
const sources = new VmSources(vms);
const server = createOtlpRelay({
  upstream: config.RELAY_UPSTREAM,
  maxBodyBytes: config.RELAY_MAX_BODY_BYTES,
  limiter: new SourceRateLimiter({
    bytesPerSecond: config.RELAY_BYTES_PER_SECOND_PER_VM,
    burstBytes: 4 * (config.RELAY_MAX_BODY_BYTES + REQUEST_COST_BYTES),
    requestCostBytes: REQUEST_COST_BYTES,
    maxSources: vms.length,
    globalBytesPerSecond: config.RELAY_BYTES_PER_SECOND_TOTAL,
    // As for one VM: four of the largest exports at once, so one export always fits when the relay was quiet.
    globalBurstBytes: 4 * (config.RELAY_MAX_BODY_BYTES + REQUEST_COST_BYTES),
  }),
  identify: (address) => sources.identify(address),
});
// Slow or stuck senders do not hold sockets for long.
server.requestTimeout = 30_000;
server.headersTimeout = 10_000;
server.listen(config.PORT, config.HOST, () =>
  logger.log(`relaying OTLP traces of ${vms.length} VMs on ${config.HOST}:${config.PORT} to ${config.RELAY_UPSTREAM}`),
);
const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
