import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Body, Controller, Module, Post } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { JsonLogger } from '../logging';
import { createServiceApp } from './bootstrap-service';

@Controller('echo')
class EchoController {
  @Post()
  echo(@Body() body: unknown): unknown {
    return body;
  }
}

@Module({ controllers: [EchoController] })
class EchoModule {}

/** The app every service runs, with one route that echoes its body: what the body parser lets through. */
describe('request bodies a service cannot safely take', () => {
  let app: INestApplication;
  let url: string;

  before(async () => {
    app = await createServiceApp({ module: EchoModule, logger: new JsonLogger('test', 'error', () => undefined) });
    await app.listen(0, '127.0.0.1');
    const server = app.getHttpServer() as Server;
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/echo`;
  });

  after(async () => {
    await app.close();
  });

  const post = (body: string): Promise<Response> =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('answers JSON nested deeper than the limit with 400 naming it, in a body far under the size limit', async () => {
    const response = await post('['.repeat(10_000) + ']'.repeat(10_000));
    assert.equal(response.status, 400);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    assert.equal(error.code, 'BAD_REQUEST');
    assert.match(error.message, /deeper than 64 levels/);
  });

  it('still takes a body nested to the limit', async () => {
    const body = '['.repeat(64) + ']'.repeat(64);
    const response = await post(body);
    assert.equal(response.status, 201);
    assert.equal(JSON.stringify(await response.json()), body);
  });

  it('answers a body over the size limit with 413 naming the limit', async () => {
    const response = await post(JSON.stringify({ pad: 'x'.repeat(300 * 1024) }));
    assert.equal(response.status, 413);
    assert.match(((await response.json()) as { error: { message: string } }).error.message, /limit of 262144 bytes/);
  });
});
