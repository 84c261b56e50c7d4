import { startTelemetry } from '@tenantlab/shared/telemetry';

startTelemetry('operator');
