import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  Res,
  StreamableFile,
  UseGuards,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { idParam, OpenRoute, ValidationError } from '@tenantlab/shared';
import type { Request, Response } from 'express';
import { limitParam } from '../common/request-params';
import { TracesService } from '../traces/traces.service';
import {
  clearSessionCookie,
  DashboardAuthGuard,
  DashboardSessions,
  sessionIdOf,
  setSessionCookie,
} from './dashboard-auth';
import { DashboardCollector, type DashboardSnapshot } from './dashboard-collector';
import { DashboardStaticFiles, PAGE_HEADERS } from './dashboard-static';
import { LabSources, type WaterfallSpan } from './lab-sources';
import { LoginDto } from './login.dto';
import { SseHub } from './sse-hub';

const SERVICE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The lab dashboard (issue 13): the page and its files are open (they hold no data); everything with data needs a
 * dashboard session (POST /dashboard/login) or the dashboard token as a bearer token. Every route here is OpenRoute
 * for the service-token guard, and DashboardAuthGuard guards the data. Not in the OpenAPI document: a page for
 * people, not an API for tools.
 */
@Controller('dashboard')
@ApiExcludeController()
@OpenRoute()
export class DashboardController {
  constructor(
    private readonly files: DashboardStaticFiles,
    private readonly sessions: DashboardSessions,
    private readonly collector: DashboardCollector,
    private readonly hub: SseHub,
    private readonly sources: LabSources,
    private readonly traces: TracesService,
  ) {}

  @Get()
  page(@Res() response: Response): void {
    this.send(response, 'index.html');
  }

  @Get('dashboard.js')
  script(@Res() response: Response): void {
    this.send(response, 'dashboard.js');
  }

  @Get('dashboard.css')
  style(@Res() response: Response): void {
    this.send(response, 'dashboard.css');
  }

  /** 204 with the session cookie; 403 for a wrong token. JSON only, so a cross-site form cannot log anyone in. */
  @Post('login')
  @HttpCode(204)
  login(@Body() body: LoginDto, @Res({ passthrough: true }) response: Response): void {
    const { id, maxAgeSeconds } = this.sessions.login(body.token);
    setSessionCookie(response, id, maxAgeSeconds);
  }

  @Post('logout')
  @HttpCode(204)
  logout(@Req() request: Request, @Res({ passthrough: true }) response: Response): void {
    this.sessions.logout(sessionIdOf(request));
    clearSessionCookie(response);
  }

  /** The live stream: a `snapshot` event every DASHBOARD_POLL_MS. */
  @Get('events')
  @UseGuards(DashboardAuthGuard)
  events(@Res() response: Response): void {
    this.hub.add(response);
  }

  @Get('api/snapshot')
  @UseGuards(DashboardAuthGuard)
  snapshot(): Promise<DashboardSnapshot> {
    return this.collector.snapshot();
  }

  /** A tenant's kept frames as a pcap file, for the page's download link (the cookie, not a bearer token). */
  @Get('api/traces/:tenant/pcap')
  @UseGuards(DashboardAuthGuard)
  pcap(@Param('tenant') tenant: string, @Res({ passthrough: true }) response: Response): StreamableFile {
    const { file } = this.traces.pcap(idParam('tenant', tenant));
    response.setHeader('content-type', 'application/vnd.tcpdump.pcap');
    response.setHeader('content-disposition', `attachment; filename="${tenant}.pcap"`);
    return new StreamableFile(file);
  }

  /** Recent traces of a service in Jaeger, for the trace view's list. */
  @Get('api/jaeger/traces')
  @UseGuards(DashboardAuthGuard)
  async jaegerTraces(
    @Query('service') service = 'operator',
    @Query('limit') limit?: string,
  ): Promise<{ traces: unknown[] }> {
    if (!SERVICE_NAME.test(service)) throw new ValidationError('service must be a service name, such as operator');
    return { traces: await this.sources.recentTraces(service, Math.min(limitParam(limit), 50)) };
  }

  /** One trace from Jaeger, as the waterfall draws it. */
  @Get('api/jaeger/traces/:traceId')
  @UseGuards(DashboardAuthGuard)
  jaegerTrace(@Param('traceId') traceId: string): Promise<{ traceId: string; spans: WaterfallSpan[] }> {
    return this.sources.trace(traceId.toLowerCase());
  }

  private send(response: Response, name: string): void {
    const file = this.files.get(name);
    if (file === undefined) throw new Error(`dashboard file ${name} is missing from the package`);
    response.status(200).set(PAGE_HEADERS).setHeader('content-type', file.type);
    response.end(file.body);
  }
}
