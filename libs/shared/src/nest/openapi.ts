import { applyDecorators, type INestApplication } from '@nestjs/common';
import { ApiResponse, DocumentBuilder, type OpenAPIObject, type SchemaObject, SwaggerModule } from '@nestjs/swagger';
import { defaultMetadataStorage } from 'class-transformer/cjs/storage';
import { IS_URL } from 'class-validator';
import { validationMetadatasToSchemas } from 'class-validator-jsonschema';

/** The routes every service serves its description on; open to any caller, like /health (they hold no tenant data). */
export const OPENAPI_JSON_PATH = '/openapi.json';
export const OPENAPI_DOCS_PATH = '/docs';

export interface OpenApiOptions {
  /** The document's title ("Tenantlab switch"). */
  title: string;
  description: string;
  /**
   * The bearer schemes the service takes, by name, with what each token is. Services guarded by ServiceAuthGuard
   * name one; the operator names its VM and admin tokens. Operations declare which one they need (ApiBearerAuth);
   * `requiredOnAllRoutes` puts the first on every route but /health and /ready.
   */
  bearer?: { schemes: Record<string, string>; requiredOnAllRoutes?: boolean };
}

/** `{ error: { code, message, retriable, details? } }`: the one error body (DomainExceptionFilter) of every service. */
export const ERROR_BODY_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'retriable'],
      additionalProperties: false,
      properties: {
        code: { type: 'string', description: 'VALIDATION_FAILED, NOT_FOUND, CONFLICT, FORBIDDEN, …' },
        message: { type: 'string', description: 'what was wrong and what to do' },
        retriable: { type: 'boolean' },
        details: { type: 'array', items: { type: 'string' }, description: 'one `field: problem` per invalid field' },
      },
    },
  },
};

const ERROR_REF = { $ref: '#/components/schemas/ErrorBody' };

const ERROR_MEANING: Record<number, string> = {
  400: 'the request is invalid (a field, a path or query parameter, or a body that is not JSON)',
  401: 'no credential: send Authorization: Bearer <token>',
  403: 'the credential is not one this route accepts, or the caller may not do this',
  404: 'no such resource',
  409: 'conflicts with the current state',
  413: 'the request body is over the limit',
  429: 'over a quota',
  502: 'the far side of a circuit failed, or a service behind this one refused',
  503: 'a dependency (Redis, Kafka, another service) does not answer; retry',
};

/** Documents the error statuses a route answers, each with the ErrorBody envelope. */
export function ApiErrors(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: ERROR_MEANING[status] ?? 'error', schema: ERROR_REF }),
    ),
  );
}

/**
 * The service's OpenAPI 3 document: routes, parameters and responses from the controllers' decorators
 * (@nestjs/swagger), request bodies from the class-validator decorators of the DTOs that the global validation pipe
 * checks (class-validator-jsonschema), so the description cannot drift from what is enforced.
 */
export function buildOpenApiDocument(app: INestApplication, options: OpenApiOptions): OpenAPIObject {
  const builder = new DocumentBuilder().setTitle(options.title).setDescription(options.description).setVersion('0.1.0');
  for (const [name, description] of Object.entries(options.bearer?.schemes ?? {})) {
    builder.addBearerAuth({ type: 'http', scheme: 'bearer', description }, name);
  }
  const document = SwaggerModule.createDocument(app, builder.build());
  const schemas = (document.components ??= {}).schemas ?? {};
  // The DTOs as validated: the pipe refuses unknown properties (forbidNonWhitelisted), so the schemas do too.
  const validated = validationMetadatasToSchemas({
    refPointerPrefix: '#/components/schemas/',
    classTransformerMetadataStorage: defaultMetadataStorage,
    // class-validator's IsUrl as JSON Schema's own format, which tools know (the default says `url`).
    additionalConverters: { [IS_URL]: { type: 'string', format: 'uri' } },
  });
  for (const [name, schema] of Object.entries(validated)) {
    schemas[name] = { ...asOpenApi30(schema as SchemaObject), additionalProperties: false };
  }
  schemas['ErrorBody'] = ERROR_BODY_SCHEMA;
  document.components.schemas = schemas;

  const [firstScheme] = Object.keys(options.bearer?.schemes ?? {});
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = item[method];
      if (!operation) continue;
      const probe = path === '/health' || path === '/ready';
      if (options.bearer?.requiredOnAllRoutes && firstScheme && !probe) {
        operation.security ??= [{ [firstScheme]: [] }];
      }
      const responses = operation.responses;
      const add = (status: number): void => {
        responses[status] ??= { description: ERROR_MEANING[status] ?? 'error', content: jsonOf(ERROR_REF) };
      };
      // What any route can answer before its handler runs: a bad parameter or body, a body over the limit, and
      // (on guarded routes) a missing or wrong credential.
      if ((operation.parameters ?? []).length > 0 || operation.requestBody) add(400);
      if (operation.requestBody) add(413);
      if ((operation.security ?? []).some((entry) => Object.keys(entry).length > 0)) {
        add(401);
        add(403);
      }
      // Every route but liveness reads or calls something (Redis, Kafka, another service) that may be down.
      if (path !== '/health') add(503);
    }
  }
  return document;
}

/**
 * Serves the document at /openapi.json and a browsable page at /docs (swagger-ui's assets from the swagger-ui-dist
 * package, served by the service itself: the page works offline). Both are plain HTTP routes outside Nest's guards,
 * so they are open on guarded services too: they describe the API and hold no tenant data.
 */
export function installOpenApi(app: INestApplication, options: OpenApiOptions): void {
  const document = buildOpenApiDocument(app, options);
  SwaggerModule.setup(OPENAPI_DOCS_PATH.slice(1), app, document, {
    jsonDocumentUrl: OPENAPI_JSON_PATH.slice(1),
    raw: ['json'],
    customSiteTitle: options.title,
    swaggerOptions: { persistAuthorization: false },
  });
}

/**
 * class-validator-jsonschema writes JSON Schema 2019's numeric `exclusiveMinimum: 0` (IsPositive); OpenAPI 3.0, the
 * version @nestjs/swagger writes, wants `minimum: 0, exclusiveMinimum: true`.
 */
function asOpenApi30(schema: SchemaObject): SchemaObject {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if ((key === 'exclusiveMinimum' || key === 'exclusiveMaximum') && typeof value === 'number') {
      out[key === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = value;
      out[key] = true;
    } else if (key === 'properties' && value && typeof value === 'object') {
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, SchemaObject>).map(([name, child]) => [name, asOpenApi30(child)]),
      );
    } else if (key === 'items' && value && typeof value === 'object') {
      out[key] = asOpenApi30(value as SchemaObject);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function jsonOf(schema: object): Record<string, { schema: object }> {
  return { 'application/json': { schema } };
}

/** An object schema that declares every property and refuses others, so a field the route does not document fails. */
export function strictObject(properties: Record<string, SchemaObject>, optional: readonly string[] = []): SchemaObject {
  const required = Object.keys(properties).filter((name) => !optional.includes(name));
  return { type: 'object', additionalProperties: false, properties, ...(required.length ? { required } : {}) };
}

/** A documented success answer with its body schema (`undefined` for a route that answers without a body). */
export function ApiAnswer(
  status: number,
  schema?: SchemaObject,
  description = 'done',
): MethodDecorator & ClassDecorator {
  return ApiResponse({ status, description, ...(schema ? { schema } : {}) });
}
