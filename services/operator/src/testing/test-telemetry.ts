// Loaded first by integration tests that check trace context: starts the same OpenTelemetry SDK the operator runs
// with (W3C propagation, HTTP server spans), before http and express are loaded, so they are instrumented. Spans go
// to OTEL_EXPORTER_OTLP_ENDPOINT if something listens there, and are dropped quietly if nothing does.
import { startTelemetry } from '@tenantlab/shared/telemetry';

startTelemetry('operator-int-test');
