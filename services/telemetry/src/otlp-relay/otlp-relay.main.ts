// The OTLP relay (services/telemetry/src/otlp-relay): the only trace endpoint tenant VMs may export to (in Docker mode
// the only one they reach; locally Jaeger's own takes only the lab's ingest password).
// Not instrumented itself: its own spans would go through Jaeger for nothing a VM does not already show.
import { exitOnConfigError, JsonLogger, loadConfigOrExit } from '@tenantlab/shared';
import { otlpRelayEnv, parseRelayVms, parseRelayVmTokens, relayRateLimit } from './otlp-relay.config';
import { createOtlpRelay } from './otlp-relay.server';
import { SourceRateLimiter } from './source-rate-limiter';
import { VmSources } from './vm-sources';
import { VmTokens } from './vm-tokens';

const config = loadConfigOrExit('otlp-relay', otlpRelayEnv);
const logger = new JsonLogger('otlp-relay', config.LOG_LEVEL);
const vms = parseRelayVms(config.RELAY_VMS);
const tokenHashes = config.RELAY_VM_TOKEN_SHA256S;
const byToken =
  tokenHashes === undefined ? undefined : exitOnConfigError('otlp-relay', () => parseRelayVmTokens(vms, tokenHashes));
const server = createOtlpRelay({
  upstream: config.RELAY_UPSTREAM,
  upstreamAuthorization: config.RELAY_UPSTREAM_AUTHORIZATION,
  maxBodyBytes: config.RELAY_MAX_BODY_BYTES,
  limiter: new SourceRateLimiter(relayRateLimit(config, vms.length)),
  vms: byToken ? new VmTokens(byToken) : new VmSources(vms),
});
// Slow or stuck senders do not hold sockets for long.
server.requestTimeout = 30_000;
server.headersTimeout = 10_000;
server.listen(config.PORT, config.HOST, () =>
  logger.log(
    `relaying OTLP traces of ${vms.length} VMs (known by ${byToken ? 'token' : 'address'}) on ${config.HOST}:${config.PORT} to ${config.RELAY_UPSTREAM}`,
  ),
);
const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
