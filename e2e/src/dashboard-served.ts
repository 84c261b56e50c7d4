import assert from 'node:assert/strict';
import { request } from 'node:http';
import { DASHBOARD_TOKEN_SECRET, labDataDir, readLabSecret } from '@tenantlab/lab';
import { requestJson } from '@tenantlab/shared';
import { REPO_ROOT } from './lab-process';

interface Snapshot {
  at: number;
  pollMs: number;
  sources: Record<string, { ok: boolean; error?: string }>;
  tenants: { id: string; vms: { id: string; port?: number }[] }[];
}

/** Reads the dashboard's live stream until `done` says it has seen enough of its snapshots (or `timeoutMs`). */
function streamedSnapshots(
  telemetry: string,
  token: string,
  timeoutMs: number,
  done: (snapshots: Snapshot[]) => boolean,
): Promise<Snapshot[]> {
  return new Promise((resolve, reject) => {
    const snapshots: Snapshot[] = [];
    const req = request(`${telemetry}/dashboard/events`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`GET /dashboard/events answered ${res.statusCode}`));
      }
      let text = '';
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
          const event = /^event: snapshot\ndata: (.*)$/s.exec(text.slice(0, end));
          text = text.slice(end + 2);
          if (event?.[1]) snapshots.push(JSON.parse(event[1]) as Snapshot);
        }
        if (done(snapshots)) {
          req.destroy();
          resolve(snapshots);
        }
      });
    });
    req.setTimeout(timeoutMs, () =>
      req.destroy(new Error(`the stream sent ${snapshots.length} snapshots in ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * The README's dashboard in either mode (local processes or containers): telemetry serves the page, and with the lab's
 * dashboard token (`.lab/<profile>/dashboard-token`) its live stream sends snapshots in which the operator, the switch
 * and the allocator all answered and every VM of the lab shows with its switch port.
 */
export async function checkDashboardServed(
  telemetry: string,
  profile: string,
  vms: Readonly<Record<string, string>>,
): Promise<void> {
  const page = await fetch(`${telemetry}/dashboard`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  const token = readLabSecret(labDataDir(REPO_ROOT, profile), DASHBOARD_TOKEN_SECRET);
  assert.ok(token, `lab ${profile} has a dashboard token`);
  assert.equal((await requestJson('GET', `${telemetry}/dashboard/api/snapshot`)).status, 401, 'no credential: 401');

  // The stream replays the latest snapshot at once, then one per poll: read until two in a row, a poll apart, have
  // every source answering (right after start a source may not have been ready yet).
  const allOk = (snapshot: Snapshot | undefined): boolean =>
    snapshot !== undefined && Object.values(snapshot.sources).every((source) => source.ok);
  const seen = await streamedSnapshots(
    telemetry,
    token,
    60_000,
    (all) => all.length >= 3 && allOk(all.at(-1)) && allOk(all.at(-2)),
  );
  const [previous, snapshot] = seen.slice(-2) as [Snapshot, Snapshot];
  assert.deepEqual(snapshot.sources, { operator: { ok: true }, switch: { ok: true }, allocator: { ok: true } });
  assert.equal(snapshot.pollMs, 1000);
  const gap = snapshot.at - previous.at;
  assert.ok(gap >= 500 && gap <= 3000, `a snapshot per poll (1000 ms): ${gap} ms apart`);
  const shown = Object.fromEntries(
    snapshot.tenants.flatMap((tenant) =>
      tenant.vms.filter((vm) => vm.port !== undefined).map((vm) => [vm.id, tenant.id]),
    ),
  );
  assert.deepEqual(shown, vms, 'every VM under its tenant, with its switch port');
}
