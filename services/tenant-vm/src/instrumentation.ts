import { startTelemetry } from '@tenantlab/shared/telemetry';

startTelemetry('tenant-vm');
