export {
  METRICS_REGISTRY,
  MetricsController,
  MetricsModule,
  type MetricsOptions,
  runtimeRegistry,
} from './metrics.module';
export { metricsTokenEnv, metricsTokenMatches, metricsTokenSha256 } from './metrics-token';
export { samplesByKey, type Sample, scrapedCounter, scrapedGauge } from './scraped-metrics';
