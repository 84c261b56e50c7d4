import { Controller, type DynamicModule, Get, Header, Headers, Inject, Module } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { DomainError } from '../errors';
import { OpenRoute } from '../nest/service-auth.guard';
import { metricsTokenMatches } from './metrics-token';

/** The service's Prometheus registry: the runtime's default metrics, and whatever collectors the service adds. */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');
const METRICS_OPTIONS = Symbol('METRICS_OPTIONS');

export interface MetricsOptions {
  /** This service's name, for refusals ("the switch"). */
  service: string;
  /** The sha256 (hex) of the lab's metrics scrape token (`METRICS_TOKEN_SHA256`); unset, every scrape is refused. */
  tokenSha256: string | undefined;
}

/**
 * `GET /metrics` in Prometheus's text format, for a scraper with the metrics token only: 401 without
 * `Authorization: Bearer <token>`, 403 with another token. The service guard does not apply (a scraper holds no
 * service token), so it is an OpenRoute with its own check; per-tenant counters are never for tenants. Left out of
 * the OpenAPI document: it is a scrape endpoint in Prometheus's format, not part of the service's JSON API.
 */
@Controller()
@OpenRoute()
@ApiExcludeController()
export class MetricsController {
  constructor(
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
    @Inject(METRICS_OPTIONS) private readonly options: MetricsOptions,
  ) {}

  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @Header('cache-control', 'no-store')
  async scrape(@Headers('authorization') authorization: string | undefined): Promise<string> {
    const token = /^Bearer +(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (token === undefined) {
      throw new DomainError(
        'UNAUTHENTICATED',
        `the ${this.options.service}'s /metrics needs the lab's metrics scrape token: send Authorization: Bearer <token>`,
      );
    }
    if (!metricsTokenMatches(this.options.tokenSha256, token)) {
      throw new DomainError(
        'FORBIDDEN',
        `the token in Authorization: Bearer <token> is not the lab's metrics scrape token (the ${this.options.service}'s /metrics)`,
      );
    }
    return this.registry.metrics();
  }
}

/**
 * prom-client's default metrics also sum three gauges into `*_total` series (`nodejs_active_handles_total` and the
 * like), a suffix Prometheus's conventions keep for counters, which `promtool check metrics` refuses: they are left
 * out. The same figures stay, by type, in `nodejs_active_handles`, `nodejs_active_requests`, `nodejs_active_resources`.
 */
const MISNAMED_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** A registry with the runtime's own metrics: process CPU, memory and file descriptors, event loop lag, heap, GC. */
export function runtimeRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);
  return registry;
}

/**
 * Serves /metrics and provides METRICS_REGISTRY (global) to the service's collectors. The registry starts with
 * prom-client's default metrics: process CPU, memory and file descriptors, the event loop's lag, heap spaces, GC.
 */
@Module({})
export class MetricsModule {
  static forRoot(options: MetricsOptions): DynamicModule {
    return {
      module: MetricsModule,
      global: true,
      controllers: [MetricsController],
      providers: [
        { provide: METRICS_OPTIONS, useValue: options },
        {
          provide: METRICS_REGISTRY,
          useFactory: () => runtimeRegistry(),
        },
      ],
      exports: [METRICS_REGISTRY],
    };
  }
}
