import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Controller, Get, type INestApplication, Module } from '@nestjs/common';
import { matchCaller, parseCallerTokens, serviceAuthHeaders } from '../auth';
import { requestJson } from '../http';
import { JsonLogger } from '../logging';
import { createServiceApp } from './bootstrap-service';
import { HealthController } from './health.controller';
import { READINESS_CHECKS } from './readiness';
import { ServiceAuthModule } from './service-auth.guard';

const OPERATOR = 'a'.repeat(64);
const ADMIN = 'b'.repeat(64);

@Controller('tenants')
class TenantsController {
  @Get()
  list(): { tenants: string[] } {
    return { tenants: ['tenant-a'] };
  }
}

@Module({
  imports: [
    ServiceAuthModule.forRoot({
      service: 'switch',
      callers: [
        { caller: 'operator', token: OPERATOR },
        { caller: 'admin', token: ADMIN },
      ],
    }),
  ],
  controllers: [HealthController, TenantsController],
  providers: [{ provide: READINESS_CHECKS, useValue: [] }],
})
class GuardedModule {}

type ErrorReply = { error: { code: string; message: string } };

describe('ServiceAuthGuard', () => {
  let app: INestApplication;
  let url: string;

  before(async () => {
    const logger = new JsonLogger('switch', 'error', () => undefined);
    app = await createServiceApp({ module: GuardedModule, logger });
    await app.listen(0, '127.0.0.1');
    const server = app.getHttpServer() as Server;
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await app?.close();
  });

  it('refuses a call without a credential with 401, naming the header it needs', async () => {
    const { status, body } = await requestJson<ErrorReply>('GET', `${url}/tenants`);
    assert.equal(status, 401);
    assert.equal(body.error.code, 'UNAUTHENTICATED');
    assert.match(body.error.message, /Authorization: Bearer <token>/);
    const notBearer = await requestJson<ErrorReply>('GET', `${url}/tenants`, undefined, 3000, {
      authorization: `Basic ${OPERATOR}`,
    });
    assert.equal(notBearer.status, 401, 'only a bearer token counts');
  });

  it('refuses an unknown token with 403, naming the header, and never echoes the token', async () => {
    const wrong = 'c'.repeat(64);
    const { status, body } = await requestJson<ErrorReply>('GET', `${url}/tenants`, undefined, 3000, {
      ...serviceAuthHeaders(wrong),
    });
    assert.equal(status, 403);
    assert.equal(body.error.code, 'FORBIDDEN');
    assert.match(body.error.message, /Authorization: Bearer <token>/);
    assert.ok(!JSON.stringify(body).includes(wrong));
    // A prefix of a real token is not that token.
    const prefix = await requestJson('GET', `${url}/tenants`, undefined, 3000, serviceAuthHeaders(OPERATOR.slice(1)));
    assert.equal(prefix.status, 403);
  });

  it("lets each accepted caller's token through", async () => {
    for (const token of [OPERATOR, ADMIN]) {
      const { status, body } = await requestJson('GET', `${url}/tenants`, undefined, 3000, serviceAuthHeaders(token));
      assert.equal(status, 200);
      assert.deepEqual(body, { tenants: ['tenant-a'] });
    }
  });

  it('leaves /health and /ready open to probes', async () => {
    assert.equal((await requestJson('GET', `${url}/health`)).status, 200);
    assert.equal((await requestJson('GET', `${url}/ready`)).status, 200);
  });
});

describe('caller tokens', () => {
  it('parses caller=token lists and refuses malformed ones or a repeated caller', () => {
    assert.deepEqual(parseCallerTokens(`operator=${OPERATOR}, admin=${ADMIN}`), [
      { caller: 'operator', token: OPERATOR },
      { caller: 'admin', token: ADMIN },
    ]);
    for (const raw of ['', 'operator', `operator=${OPERATOR}=x`, 'operator=short', `Op=${OPERATOR}`]) {
      assert.equal(parseCallerTokens(raw), undefined, raw);
    }
    assert.equal(parseCallerTokens(`admin=${OPERATOR},admin=${ADMIN}`), undefined);
  });

  it('matches a presented token to its caller, and nothing else', () => {
    const callers = [
      { caller: 'operator', token: OPERATOR },
      { caller: 'admin', token: ADMIN },
    ];
    assert.equal(matchCaller(callers, ADMIN), 'admin');
    assert.equal(matchCaller(callers, OPERATOR), 'operator');
    assert.equal(matchCaller(callers, `${ADMIN}x`), undefined);
    assert.equal(matchCaller([], ADMIN), undefined);
  });

  it('compares sha256 digests in constant time, against every accepted token, even after a match', (t) => {
    const compare = t.mock.method(crypto, 'timingSafeEqual');
    const callers = [
      { caller: 'operator', token: OPERATOR },
      { caller: 'admin', token: ADMIN },
    ];
    assert.equal(matchCaller(callers, OPERATOR), 'operator');
    assert.equal(compare.mock.callCount(), callers.length, 'one comparison per accepted caller, no early stop');
    for (const { arguments: compared } of compare.mock.calls) {
      assert.deepEqual(
        compared.map((digest) => (digest as Buffer).length),
        [32, 32],
        'sha256 digests, never the tokens',
      );
    }
  });
});
