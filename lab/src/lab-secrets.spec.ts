import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  ensureLabSecret,
  ensureRedisAdminPassword,
  labSecretFile,
  readLabSecret,
  readRedisAdminPassword,
  redisAdminPasswordFile,
} from './lab-secrets';

describe('the Redis admin password of a lab profile', () => {
  let root: string;
  let count = 0;
  // A fresh profile data dir per test, not created yet, as on a first `lab up`.
  const freshDataDir = (): string => path.join(root, `profile-${++count}`);

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'lab-secrets-spec-'));
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('is created on first use as 64 random hex digits, in a file only its owner can read', async () => {
    const dataDir = freshDataDir();
    assert.equal(readRedisAdminPassword(dataDir), undefined);
    const password = ensureRedisAdminPassword(dataDir);
    assert.match(password, /^[0-9a-f]{64}$/);
    const file = redisAdminPasswordFile(dataDir);
    assert.equal(path.dirname(file), dataDir);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await readFile(file, 'utf8')).trim(), password);
    assert.notEqual(ensureRedisAdminPassword(freshDataDir()), password, 'each profile has its own');
  });

  it('is reused by later runs of the same profile, and readable for `status`', () => {
    const dataDir = freshDataDir();
    const password = ensureRedisAdminPassword(dataDir);
    assert.equal(ensureRedisAdminPassword(dataDir), password);
    assert.equal(readRedisAdminPassword(dataDir), password);
  });

  it('tightens a file left readable by others to owner-only', async () => {
    const dataDir = freshDataDir();
    const password = ensureRedisAdminPassword(dataDir);
    const file = redisAdminPasswordFile(dataDir);
    await chmod(file, 0o644);
    assert.equal(ensureRedisAdminPassword(dataDir), password);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it('replaces a file that does not hold a password', async () => {
    const dataDir = freshDataDir();
    ensureRedisAdminPassword(dataDir);
    await writeFile(redisAdminPasswordFile(dataDir), '\n');
    assert.equal(readRedisAdminPassword(dataDir), undefined);
    assert.match(ensureRedisAdminPassword(dataDir), /^[0-9a-f]{64}$/);
  });
});

describe('named lab secrets', () => {
  let root: string;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'lab-secrets-named-'));
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps each name in its own owner-only file, each with its own value', async () => {
    const one = ensureLabSecret(root, 'service-token-switch');
    const two = ensureLabSecret(root, 'tenant-secret-tenant-a');
    assert.notEqual(one, two);
    assert.equal(readLabSecret(root, 'service-token-switch'), one);
    assert.equal((await stat(labSecretFile(root, 'tenant-secret-tenant-a'))).mode & 0o777, 0o600);
  });

  it('refuses a name that could leave the data dir', () => {
    assert.throws(() => ensureLabSecret(root, '../escape'), /invalid lab secret name "..\/escape"/);
    assert.throws(() => labSecretFile(root, '.hidden'), /invalid lab secret name/);
  });
});
