import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Body, Controller, Get, type INestApplication, Module, Param, Post } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsPositive, Matches, Max, Min, ValidateNested } from 'class-validator';
import { JsonLogger } from '../logging';
import { createServiceApp } from './bootstrap-service';
import { HealthController } from './health.controller';
import { ApiAnswer, ApiErrors, strictObject } from './openapi';
import { READINESS_CHECKS } from './readiness';

class SizeDto {
  @IsInt()
  @Min(1)
  @Max(64)
  entries!: number;

  @IsOptional()
  @IsPositive()
  rate?: number;
}

class CreateThingDto {
  @Matches(/^[a-z]+$/)
  name!: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => SizeDto)
  size?: SizeDto;
}

@Controller('things')
class ThingsController {
  @Post()
  @ApiAnswer(201, strictObject({ name: { type: 'string' } }), 'created')
  @ApiErrors(409)
  create(@Body() body: CreateThingDto): { name: string } {
    return { name: body.name };
  }

  @Get(':id')
  @ApiAnswer(200, strictObject({ name: { type: 'string' } }), 'the thing')
  @ApiErrors(404)
  get(@Param('id') id: string): { name: string } {
    return { name: id };
  }
}

@Module({ controllers: [ThingsController, HealthController], providers: [{ provide: READINESS_CHECKS, useValue: [] }] })
class ThingsModule {}

interface Operation {
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, { schema: { $ref: string } }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Record<string, unknown>>; securitySchemes: Record<string, unknown> };
}

describe('the OpenAPI document a service serves', () => {
  let app: INestApplication;
  let base: string;
  let document: Document;

  before(async () => {
    app = await createServiceApp({
      module: ThingsModule,
      logger: new JsonLogger('openapi-spec', 'error'),
      openApi: {
        title: 'things',
        description: 'a test service',
        bearer: { schemes: { service: 'a service token' }, requiredOnAllRoutes: true },
      },
    });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
    document = (await (await fetch(`${base}/openapi.json`)).json()) as Document;
  });

  after(async () => {
    await app?.close();
  });

  it('describes request bodies from the class-validator rules that validate them, refusing unknown fields', () => {
    const ref = document.paths['/things']?.['post']?.requestBody?.content['application/json']?.schema.$ref;
    assert.equal(ref, '#/components/schemas/CreateThingDto');
    const schema = document.components.schemas['CreateThingDto'];
    assert.deepEqual(schema?.['required'], ['name']);
    assert.equal(schema?.['additionalProperties'], false);
    const properties = schema?.['properties'] as Record<string, Record<string, unknown>>;
    assert.equal(properties['name']?.['pattern'], '^[a-z]+$');
    assert.equal(properties['size']?.['$ref'], '#/components/schemas/SizeDto');
    const size = document.components.schemas['SizeDto']?.['properties'] as Record<string, Record<string, unknown>>;
    assert.deepEqual(size['entries'], { type: 'integer', minimum: 1, maximum: 64 });
    // In OpenAPI 3.0's form, which Schemathesis checks the document against.
    assert.deepEqual(size['rate'], { type: 'number', minimum: 0, exclusiveMinimum: true });
  });

  it('documents the error envelope and the statuses each route answers, with the bearer scheme where guarded', () => {
    assert.ok(document.components.securitySchemes['service']);
    const create = document.paths['/things']?.['post'];
    assert.deepEqual(Object.keys(create?.responses ?? {}).sort(), ['201', '400', '401', '403', '409', '413', '503']);
    assert.deepEqual(create?.security, [{ service: [] }]);
    assert.deepEqual(create?.responses['409']?.content?.['application/json']?.schema, {
      $ref: '#/components/schemas/ErrorBody',
    });
    assert.deepEqual(Object.keys(document.paths['/things/{id}']?.['get']?.responses ?? {}).sort(), [
      '200',
      '400',
      '401',
      '403',
      '404',
      '503',
    ]);
    // The probes are open: no credential, so no 401 or 403.
    const health = document.paths['/health']?.['get'];
    assert.equal(health?.security, undefined);
    assert.deepEqual(Object.keys(health?.responses ?? {}), ['200']);
    assert.equal(document.components.schemas['ErrorBody']?.['additionalProperties'], false);
  });

  it('serves a browsable page at /docs with swagger-ui from the service itself', async () => {
    const page = await fetch(`${base}/docs`);
    assert.equal(page.status, 200);
    const html = await page.text();
    const script = /src="([^"]*swagger-ui-bundle\.js)"/.exec(html)?.[1];
    assert.ok(script && !/^https?:/.test(script), `swagger-ui is loaded from the service: ${script}`);
    const asset = await fetch(new URL(script, `${base}/docs`));
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type') ?? '', /javascript/);
  });
});
