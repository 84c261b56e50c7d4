/// <reference lib="dom" />
// The functions given to page.evaluate and waitForFunction run in the browser, where document exists.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DASHBOARD_TOKEN_SECRET, labDataDir, readLabSecret, type TestLab } from '@tenantlab/lab';
import { requestJson } from '@tenantlab/shared';
import type { Browser, Page } from 'puppeteer-core';
import { launchChromium, screenshot } from './browser';
import { E2E_PROFILE, eventually, labAdminRequest, REPO_ROOT, startE2eLab, urlOf } from './lab-process';

/** What the issue asks of the live page: a new circuit and new traffic on it within this long. */
const SEEN_WITHIN_MS = 2000;
/** Traces and program events come the longer way, switch to Kafka to telemetry: a looser deadline on a busy machine. */
const KAFKA_PATH_WITHIN_MS = 10_000;

/**
 * The lab dashboard in a real headless Chromium (Debian's, driven by puppeteer-core): log in with the lab's dashboard
 * token, then create a circuit, send traffic and install a program, and find each on the live page within 2 s. Saves
 * screenshots under e2e/output/screenshots/ and prints their paths.
 */
describe('the lab dashboard in a browser', () => {
  let lab: TestLab;
  let browser: Browser;
  let page: Page;
  let telemetry: string;
  let ping: Promise<unknown> | undefined;
  const url = (name: string): string => urlOf(lab.state, name);

  /** Waits on the page for `condition` (run in the browser with `arg`) and returns how long it took. */
  const seenWithin = async (
    what: string,
    condition: (arg: string) => boolean,
    arg: string,
    withinMs = SEEN_WITHIN_MS,
  ): Promise<number> => {
    const started = Date.now();
    try {
      await page.waitForFunction(condition, { timeout: withinMs, polling: 50 }, arg);
    } catch (error) {
      const shot = await screenshot(page, `failed-${what.replace(/\W+/g, '-')}`);
      throw new Error(`${what} not on the page within ${withinMs} ms (screenshot: ${shot})`, { cause: error });
    }
    const took = Date.now() - started;
    console.log(`dashboard: ${what} on the page after ${took} ms`);
    return took;
  };

  before(async () => {
    lab = await startE2eLab();
    telemetry = url('telemetry');
    browser = await launchChromium();
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    await lab?.stop();
    await ping?.catch(() => undefined);
  });

  it('asks for the dashboard token, refuses a wrong one, and goes live with the right one', async () => {
    await page.goto(`${telemetry}/dashboard`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#login-dialog[open]', { timeout: 10_000 });
    await page.type('#login-token', 'f'.repeat(64));
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(
      () => document.querySelector('#login-error')?.textContent?.includes('not the dashboard'),
      {
        timeout: 10_000,
      },
    );
    const token = readLabSecret(labDataDir(REPO_ROOT, E2E_PROFILE), DASHBOARD_TOKEN_SECRET);
    assert.ok(token, 'the lab made a dashboard token');
    await page.$eval('#login-token', (input) => ((input as HTMLInputElement).value = ''));
    await page.type('#login-token', token);
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#live')?.textContent === 'live', { timeout: 10_000 });
    // The topology shows every VM of the lab file with its switch port.
    await page.waitForFunction(() => document.querySelectorAll('#topology rect[data-vm]').length === 4, {
      timeout: 10_000,
    });
    const cookie = (await browser.cookies()).find((c) => c.name === 'tenantlab_dashboard');
    assert.equal(cookie?.httpOnly, true, 'the session cookie is HttpOnly');
    assert.equal(await page.evaluate(() => document.cookie), '', 'page scripts cannot read the session');
  });

  it('shows a new circuit and the traffic on it within 2 s', async () => {
    assert.equal((await requestJson('POST', `${url('vm-a2')}/workloads/echo`, { service: 'dash-echo' })).status, 201);
    // A long ping over a datagram circuit: the circuit stays open, with traffic on it, while the page is watched.
    ping = requestJson(
      'POST',
      `${url('vm-a1')}/workloads/ping`,
      { target: 'vm-a2/dash-echo', count: 100_000 },
      300_000,
    );
    const circuit = await eventually('vm-a1 to open its circuit', 30_000, async () => {
      const { body } = await lab.clients.vms['vm-a1'].circuits();
      return body.circuits[0]?.id;
    });
    await seenWithin(
      'the new circuit',
      (id) => document.querySelector(`#circuits tr[data-circuit-id="${id}"]`) !== null,
      circuit,
    );
    await seenWithin(
      'traffic on the circuit',
      (id) => Number(document.querySelector(`#circuits tr[data-circuit-id="${id}"]`)?.getAttribute('data-entries')) > 0,
      circuit,
    );
    await seenWithin(
      'the circuit in the topology',
      (id) => document.querySelector(`#topology path[data-circuit="${id}"]`) !== null,
      circuit,
    );
  });

  it("shows a program's memory slices, the frames sent, their traces and the program's events within 2 s", async () => {
    const program = JSON.parse(readFileSync(join(REPO_ROOT, 'programs', 'heavy-hitter.json'), 'utf8')) as object;
    const submitted = await requestJson('PUT', `${url('vm-a1')}/program`, { program });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    await seenWithin(
      "tenant-a's register slices in the memory map",
      (tenant) => document.querySelector(`#memory rect[data-tenant="${tenant}"]`) !== null,
      'tenant-a',
    );
    // One frame in five traced, so the traces table and the pcap link have tenant-a's frames at once.
    assert.equal(
      (await labAdminRequest('PUT', `${url('switch')}/tenants/tenant-a/sampling`, { rate: 0.2 })).status,
      200,
    );
    const rxOfSwitch = async (): Promise<number> => {
      const { body } = await labAdminRequest<{ counters: { tenants: Record<string, { rxFrames: number }> } }>(
        'GET',
        `${url('switch')}/dataplane`,
      );
      return body.counters.tenants['tenant-a']?.rxFrames ?? 0;
    };
    const rxBefore = await rxOfSwitch();
    const frames = 3000;
    const sent = await lab.clients.vms['vm-a1'].generateTraffic({
      to: ['vm-a2'],
      protocol: 'udp',
      count: frames,
      size: 256,
    });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    // The switch reads the frames at its own pace (slower on a busy machine): the page is timed from when it has.
    const counted = await eventually("the switch to count tenant-a's frames", 60_000, async () => {
      const rx = await rxOfSwitch();
      return rx >= rxBefore + frames ? rx : undefined;
    });
    await seenWithin(
      `tenant-a's ${frames} frames in its counters`,
      (min) =>
        Number(document.querySelector('#tenants tr[data-tenant="tenant-a"]')?.getAttribute('data-rx-frames')) >=
        Number(min),
      String(counted),
    );
    await seenWithin(
      "tenant-a's packet traces and its pcap link",
      (tenant) =>
        document.querySelector(`#traces tr[data-tenant="${tenant}"]`) !== null &&
        document.querySelector(`#pcaps a[data-pcap="${tenant}"]`) !== null,
      'tenant-a',
      KAFKA_PATH_WITHIN_MS,
    );
    await seenWithin(
      "the heavy-hitter program's event",
      () => Array.from(document.querySelectorAll('#programs td')).some((cell) => cell.textContent === 'heavy_hitter'),
      '',
      KAFKA_PATH_WITHIN_MS,
    );
    await seenWithin(
      "tenant-a's frames/s in the chart",
      (tenant) => document.querySelector(`#chart-frames polyline[data-series="${tenant}"]`) !== null,
      'tenant-a',
    );
    // The pcap link downloads with the session cookie alone.
    const pcapHref = await page.$eval('#pcaps a[data-pcap="tenant-a"]', (a) => a.href);
    const magic = await page.evaluate(async (href) => {
      const answer = await fetch(href, { credentials: 'same-origin' });
      return [...new Uint8Array(await answer.arrayBuffer()).slice(0, 4)];
    }, pcapHref);
    assert.deepEqual(magic, [0xd4, 0xc3, 0xb2, 0xa1], 'a pcap file (little-endian magic)');
    console.log(`dashboard screenshot: ${await screenshot(page, 'dashboard')}`);
  });

  it("draws a Jaeger trace as a waterfall through telemetry's proxy", async () => {
    await page.select('#trace-service', 'operator');
    await page.click('#trace-form button[type=submit]');
    await page.waitForSelector('#trace-list li[data-trace]', { timeout: 15_000 });
    await page.click('#trace-list li[data-trace]');
    await page.waitForSelector('#waterfall .wf-row', { timeout: 10_000 });
    const rows = await page.$$eval('#waterfall .wf-row', (list) => list.length);
    assert.ok(rows >= 1, `${rows} spans drawn`);
    const waterfall = await page.$('#waterfall');
    assert.ok(waterfall);
    await waterfall.scrollIntoView();
    console.log(`dashboard screenshot: ${await screenshot(page, 'dashboard-trace')}`);
  });

  it('is gone for the browser after logging out', async () => {
    await page.click('#logout');
    await page.waitForSelector('#login-dialog[open]', { timeout: 10_000 });
    const status = await page.evaluate(async () => (await fetch('/dashboard/api/snapshot')).status);
    assert.equal(status, 401);
  });
});
