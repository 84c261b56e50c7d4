import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { basicAuthorization, withUserInfo } from './basic-auth';
import { withoutCredentials } from './vm-control';

describe('basic auth', () => {
  it('encodes user and password as RFC 7617 says', () => {
    assert.equal(basicAuthorization('lab', 'secret'), `Basic ${Buffer.from('lab:secret').toString('base64')}`);
    assert.equal(basicAuthorization('Aladdin', 'open sesame'), 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
  });

  it('puts credentials into a URL as user info, keeping its path and adding no trailing slash', () => {
    const url = withUserInfo('http://127.0.0.1:16686', 'lab', 'f'.repeat(64));
    assert.equal(url, `http://lab:${'f'.repeat(64)}@127.0.0.1:16686`);
    assert.equal(withoutCredentials(url), 'http://127.0.0.1:16686');
    assert.equal(withUserInfo('http://127.0.0.1:3101/a/b', 'lab', 'x'), 'http://lab:x@127.0.0.1:3101/a/b');
  });
});
