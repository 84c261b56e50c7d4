import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ArgumentsHost } from '@nestjs/common';
import { BadRequestException } from '@nestjs/common';
import { ReplyError } from 'ioredis';
import { ValidationError } from '../errors';
import { JsonLogger } from '../logging';
import { RedisConnectionClosedError } from '../redis';
import { DomainExceptionFilter, type ErrorBody } from './domain-exception.filter';

/** The filter's answer to `exception`, through a stand-in for Express's response. */
function answer(exception: unknown): { status: number; body: ErrorBody } {
  const sent: { status: number; body?: ErrorBody } = { status: 0 };
  const response = {
    status(code: number) {
      sent.status = code;
      return this;
    },
    json(body: ErrorBody) {
      sent.body = body;
    },
  };
  const host = { switchToHttp: () => ({ getResponse: () => response }) } as unknown as ArgumentsHost;
  new DomainExceptionFilter(new JsonLogger('test', 'error', () => undefined)).catch(exception, host);
  assert.ok(sent.body, 'a body was sent');
  return { status: sent.status, body: sent.body };
}

/** A Redis error reply as ioredis raises it (its ReplyError, untyped in its declarations). */
function redisReply(message: string): Error {
  return new (ReplyError as new (text: string) => Error)(message);
}

/** Shaped like what Express's body parser throws (http-errors). */
function bodyParserError(status: number, type: string, message: string, extra: object = {}): Error {
  return Object.assign(new Error(message), { status, statusCode: status, expose: true, type, ...extra });
}

describe('DomainExceptionFilter', () => {
  it('answers an oversized body with 413 naming its size and the limit', () => {
    const { status, body } = answer(
      bodyParserError(413, 'entity.too.large', 'request entity too large', { limit: 102_400, length: 3_000_000 }),
    );
    assert.equal(status, 413);
    assert.equal(body.error.code, 'PAYLOAD_TOO_LARGE');
    assert.match(body.error.message, /3000000 bytes is over this service's limit of 102400 bytes/);
    assert.equal(body.error.retriable, false);
  });

  it('answers a body that is not JSON, or in another charset, with a 4xx saying so', () => {
    const parse = answer(bodyParserError(400, 'entity.parse.failed', 'Unexpected end of JSON input'));
    assert.equal(parse.status, 400);
    assert.match(parse.body.error.message, /not valid JSON: Unexpected end of JSON input/);
    const charset = answer(bodyParserError(415, 'charset.unsupported', 'unsupported charset "UTF-7"'));
    assert.equal(charset.status, 415);
    assert.match(charset.body.error.message, /UTF-7/);
  });

  it('keeps domain errors, Nest exceptions and the unexpected as they were', () => {
    const invalid = answer(new ValidationError('bad', ['x: wrong']));
    assert.deepEqual(
      [invalid.status, invalid.body.error.code, invalid.body.error.details],
      [400, 'VALIDATION_FAILED', ['x: wrong']],
    );
    assert.equal(answer(new BadRequestException('nope')).status, 400);
    const crash = answer(Object.assign(new TypeError('x is undefined'), { status: 'weird' }));
    assert.deepEqual([crash.status, crash.body.error.code], [500, 'INTERNAL']);
    assert.doesNotMatch(crash.body.error.message, /undefined/, 'internals stay in the log');
  });
});

describe('DomainExceptionFilter, when a dependency refuses', () => {
  it('answers Redis refusals (wrong password, loading, too many clients, memory full) with 503, retriable, quoting the reason', () => {
    for (const reply of [
      'WRONGPASS invalid username-password pair or user is disabled.',
      'LOADING Redis is loading the dataset in memory',
      'ERR max number of clients reached',
      "OOM command not allowed when used memory > 'maxmemory'.",
    ]) {
      const { status, body } = answer(redisReply(reply));
      assert.deepEqual([status, body.error.code, body.error.retriable], [503, 'DEPENDENCY_UNAVAILABLE', true], reply);
      assert.ok(body.error.message.includes(reply), `the answer names the refusal: ${body.error.message}`);
    }
  });

  it("keeps a Redis reply that is the service's own fault a 500", () => {
    const { status } = answer(redisReply('WRONGTYPE Operation against a key holding the wrong kind of value'));
    assert.equal(status, 500);
  });

  it('answers a lost Redis connection, a Kafka error and a refused socket with 503', () => {
    const closed = answer(new Error('Connection is closed.'));
    assert.equal(closed.status, 503);
    const kafka = answer(
      Object.assign(new Error('SASL SCRAM authentication failed'), { name: 'KafkaJSSASLAuthenticationError' }),
    );
    assert.deepEqual([kafka.status, kafka.body.error.retriable], [503, true]);
    assert.match(kafka.body.error.message, /Kafka refused or did not answer: SASL SCRAM/);
    const refused = answer(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }));
    assert.equal(refused.status, 503);
  });

  it('answers a connection that dropped under a command or a pipeline with 503, saying the outcome is unknown', () => {
    const underCommand = answer(new RedisConnectionClosedError());
    assert.deepEqual([underCommand.status, underCommand.body.error.code], [503, 'DEPENDENCY_UNAVAILABLE']);
    assert.match(
      underCommand.body.error.message,
      /closed before the reply came: whether Redis ran the command is unknown/,
    );
    // ioredis's own error for a pipeline in flight when the connection dropped (redis-errors' AbortError).
    const underPipeline = answer(
      Object.assign(new Error('Command aborted due to connection close'), { name: 'AbortError' }),
    );
    assert.equal(underPipeline.status, 503);
  });

  it('cuts a long refusal before quoting it', () => {
    const { body } = answer(redisReply(`LOADING ${'x'.repeat(10_000)}`));
    assert.ok(body.error.message.length < 300, `${body.error.message.length} characters`);
  });

  it('answers a body nested too deep with 400 naming the limit', () => {
    const { status, body } = answer(
      bodyParserError(400, 'entity.too.deep', 'the request body nests JSON objects and arrays deeper than 64 levels'),
    );
    assert.equal(status, 400);
    assert.match(body.error.message, /deeper than 64 levels.*flatter/);
  });
});
