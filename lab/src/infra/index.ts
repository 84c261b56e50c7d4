export { type ExitStatus, type InfraComponent, SupervisedProcess, describeExit } from './child-process.supervisor';
export { CommandFailedError, InfraError, InfraInstallError, InfraStartError, PortInUseError } from './infra.errors';
export type { InfraOptions, KafkaUsers } from './infra.options';
export { installInfra } from './install-infra';
export { DEFAULT_INFRA_PORTS, type InfraPorts, isPortFree, offsetPorts } from './ports';
export { checkInfraReady, probeJaeger, probeKafka, probeRedis } from './readiness-probes';
// The urls type stays unnamed here: lab-plan.ts declares its own InfraUrls, which this one satisfies.
export { type StartedInfra, infraUrls, startInfra } from './start-infra';
export { type ReadinessProbe, type ReadinessResult, readyOrStopped, waitUntilReady } from './wait-until-ready';
export { installSchemathesis } from './install-schemathesis';
export { installPrometheus, type PrometheusInstall } from './install-prometheus';
export { PROMETHEUS_USER, probePrometheus, prometheusAuthHeaders, prometheusWebConfig } from './prometheus.component';
