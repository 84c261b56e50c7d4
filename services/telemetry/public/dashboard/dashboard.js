// The lab dashboard's page script: plain JavaScript, no build step. It logs in (an HttpOnly session cookie), opens
// the server-sent event stream /dashboard/events and redraws every panel from each `snapshot` event. Data is only
// ever put into the page as text (textContent, SVG attributes), never as HTML.
'use strict';

const SVG_NS = 'http://www.w3.org/2000/svg';
const PALETTE = ['#2458d6', '#d9822b', '#2a8a4b', '#b8439a', '#7a5cd6', '#c23a3a', '#1d9aa8', '#8a7a2b'];
const colours = new Map();

function colourOf(key) {
  if (!colours.has(key)) colours.set(key, PALETTE[colours.size % PALETTE.length]);
  return colours.get(key);
}

/** An HTML element with attributes and children (strings become text nodes). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    // Styles through the CSSOM: the page's CSP refuses style attributes.
    if (key === 'style') el.style.cssText = value;
    else if (value !== undefined && value !== null) el.setAttribute(key, String(value));
  }
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

/** The same for SVG. */
function s(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    // Styles through the CSSOM: the page's CSP refuses style attributes.
    if (key === 'style') el.style.cssText = value;
    else if (value !== undefined && value !== null) el.setAttribute(key, String(value));
  }
  if (text !== undefined) el.textContent = String(text);
  return el;
}

function byId(id) {
  return document.getElementById(id);
}

function format(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n * 10) / 10);
}

function lastOf(values) {
  return values && values.length > 0 ? values[values.length - 1] : 0;
}

// ---- session and stream ----------------------------------------------------------------------------------------

let stream;

async function start() {
  byId('login-form').addEventListener('submit', login);
  byId('logout').addEventListener('click', logout);
  byId('trace-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void listTraces();
  });
  byId('trace-open').addEventListener('click', () => void openTrace(byId('trace-id').value.trim()));
  const answer = await fetch('/dashboard/api/snapshot', { credentials: 'same-origin' });
  if (answer.status === 401 || answer.status === 403) return showLogin('');
  if (answer.ok) render(await answer.json());
  connect();
}

function showLogin(message) {
  byId('login-error').textContent = message;
  byId('logout').hidden = true;
  const dialog = byId('login-dialog');
  if (!dialog.open) dialog.showModal();
  byId('login-token').focus();
}

async function login(event) {
  event.preventDefault();
  const answer = await fetch('/dashboard/login', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: byId('login-token').value.trim() }),
  });
  if (!answer.ok) {
    const body = await answer.json().catch(() => ({}));
    return showLogin((body.error && body.error.message) || `login failed (${answer.status})`);
  }
  byId('login-token').value = '';
  byId('login-dialog').close();
  connect();
}

async function logout() {
  await fetch('/dashboard/logout', { method: 'POST', credentials: 'same-origin' });
  if (stream) stream.close();
  setLive(false);
  showLogin('');
}

function connect() {
  if (stream) stream.close();
  byId('logout').hidden = false;
  stream = new EventSource('/dashboard/events');
  stream.addEventListener('snapshot', (event) => {
    setLive(true);
    render(JSON.parse(event.data));
  });
  stream.addEventListener('error', () => {
    setLive(false);
    // EventSource retries by itself; a lost session needs a new login instead.
    void fetch('/dashboard/api/snapshot', { credentials: 'same-origin' }).then((answer) => {
      if (answer.status === 401 || answer.status === 403) {
        stream.close();
        showLogin('Your session has ended: log in again.');
      }
    });
  });
}

function setLive(live) {
  const badge = byId('live');
  badge.textContent = live ? 'live' : 'not connected';
  badge.classList.toggle('off', !live);
}

// ---- rendering ----------------------------------------------------------------------------------------------------

function render(snap) {
  byId('updated').textContent = `updated ${new Date(snap.at).toLocaleTimeString()}`;
  renderSources(snap.sources);
  renderTopology(snap);
  lineChart(byId('chart-frames'), snap.series.frames, 'frames/s');
  lineChart(byId('chart-drops'), snap.series.drops, 'drops/s');
  lineChart(byId('chart-circuits'), snap.series.circuits, 'entries/s', (id) => id.slice(0, 8));
  renderTenants(snap);
  renderCircuits(snap.circuits);
  renderMemory(snap.memory);
  renderPrograms(snap.programs);
  renderTraces(snap.traces);
  renderComponents(snap.components);
}

function renderSources(sources) {
  const el = byId('sources');
  el.replaceChildren(
    ...Object.entries(sources).map(([name, state]) =>
      h('span', { class: state.ok ? '' : 'bad', title: state.error || 'answering' }, `${state.ok ? '●' : '○'} ${name}`),
    ),
  );
}

function renderTenants(snap) {
  const fps = snap.series.frames.values;
  byId('tenants').tBodies[0].replaceChildren(
    ...snap.tenants.map((t) => {
      const rate = lastOf(fps[t.id]);
      const drops = Object.entries(t.drops)
        .map(([reason, n]) => `${reason} ${format(n)}`)
        .join(', ');
      return h(
        'tr',
        { 'data-tenant': t.id, 'data-rx-frames': t.rxFrames },
        h('td', {}, h('span', { style: `color:${colourOf(t.id)}` }, '■ '), t.id),
        h('td', { class: 'num' }, t.vlan ?? ''),
        h('td', {}, t.vms.map((vm) => `${vm.id}${vm.port !== undefined ? ` (${vm.port})` : ''}`).join(', ')),
        h('td', { class: 'num', 'data-fps': rate }, format(rate)),
        h('td', { class: 'num' }, format(t.rxFrames)),
        h('td', { class: 'num' }, format(t.txFrames)),
        h('td', {}, drops || '—'),
        h('td', {}, t.program ? 'installed' : '—'),
      );
    }),
  );
}

function renderCircuits(circuits) {
  const body = byId('circuits').tBodies[0];
  if (circuits.length === 0)
    return body.replaceChildren(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'none open')));
  body.replaceChildren(
    ...circuits.map((c) =>
      h(
        'tr',
        { 'data-circuit-id': c.id, 'data-entries': c.entries },
        h('td', { class: 'mono', title: c.id }, c.id.slice(0, 8)),
        h('td', {}, c.service),
        h('td', {}, `${c.a.vm} → ${c.b.vm}`),
        h('td', {}, c.mode),
        h('td', {}, c.state),
        h('td', { class: 'num' }, format(c.entries)),
        h('td', { class: 'num' }, format(c.bytesHeld)),
      ),
    ),
  );
}

/** The switch on top, each tenant's VMs below it joined by their port links, circuits as arcs under the VMs. */
function renderTopology(snap) {
  const svg = byId('topology');
  const vms = snap.tenants.flatMap((t) => t.vms.map((vm) => ({ ...vm, tenant: t.id })));
  const width = Math.max(svg.clientWidth || 900, 400);
  const boxW = 104;
  const gap = Math.max(
    12,
    Math.min(40, (width - 40 - vms.length * boxW) / Math.max(1, vms.length + snap.tenants.length)),
  );
  const vmY = 110;
  const height = 230;
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.style.height = `${height}px`;
  const nodes = [];
  const xOf = new Map();
  let x = 20;
  for (const tenant of snap.tenants) {
    const start = x;
    for (const vm of tenant.vms) {
      xOf.set(vm.id, x + boxW / 2);
      x += boxW + gap;
    }
    const end = Math.max(start + boxW, x - gap);
    nodes.push(
      s('rect', {
        x: start - 8,
        y: vmY - 26,
        width: end - start + 16,
        height: 70,
        rx: 8,
        fill: colourOf(tenant.id),
        'fill-opacity': 0.08,
        stroke: colourOf(tenant.id),
      }),
      s(
        'text',
        { x: start - 2, y: vmY - 12, 'data-tenant': tenant.id },
        `${tenant.id}${tenant.vlan !== undefined ? ` · VLAN ${tenant.vlan}` : ''}`,
      ),
    );
    x += gap;
  }
  const switchX = width / 2;
  const sw = snap.switch;
  const links = [];
  for (const vm of vms) {
    const cx = xOf.get(vm.id);
    links.push(
      s('line', { x1: cx, y1: vmY, x2: switchX, y2: 46, stroke: vm.port !== undefined ? '#9aa3b2' : '#e3e6eb' }),
    );
    nodes.push(
      s('rect', {
        x: cx - boxW / 2,
        y: vmY,
        width: boxW,
        height: 34,
        rx: 5,
        fill: '#fff',
        stroke: vm.alive ? colourOf(vm.tenant) : '#c23a3a',
        'data-vm': vm.id,
      }),
      s('text', { x: cx, y: vmY + 14, 'text-anchor': 'middle' }, vm.id),
      s(
        'text',
        { x: cx, y: vmY + 28, 'text-anchor': 'middle', class: 'label-muted' },
        vm.port !== undefined ? `port ${vm.port}` : 'no port',
      ),
    );
  }
  const circuitPaths = [];
  snap.circuits.forEach((c, index) => {
    const xa = xOf.get(c.a.vm);
    const xb = xOf.get(c.b.vm);
    if (xa === undefined || xb === undefined) return;
    const depth = 40 + (index % 4) * 14;
    const path =
      xa === xb
        ? `M ${xa - 20} ${vmY + 34} q 20 ${depth} 40 0`
        : `M ${xa} ${vmY + 34} Q ${(xa + xb) / 2} ${vmY + 34 + depth * 1.6} ${xb} ${vmY + 34}`;
    circuitPaths.push(
      s('path', {
        d: path,
        fill: 'none',
        stroke: colourOf(`circuit:${c.id}`),
        'stroke-width': 2,
        'stroke-dasharray': c.state === 'open' ? '' : '4 3',
        'data-circuit': c.id,
      }),
      s(
        'text',
        { x: (xa + xb) / 2, y: vmY + 34 + depth * 0.8 + 4, 'text-anchor': 'middle', class: 'label-muted' },
        `${c.service} (${c.mode})`,
      ),
    );
  });
  const switchBox = [
    s('rect', { x: switchX - 150, y: 6, width: 300, height: 42, rx: 6, fill: '#1d2330' }),
    s(
      'text',
      { x: switchX, y: 24, 'text-anchor': 'middle', fill: '#fff', style: 'fill:#fff' },
      sw ? `switch · ${sw.ports} ports · ${sw.macs} MACs` : 'switch (not answering)',
    ),
    s(
      'text',
      { x: switchX, y: 39, 'text-anchor': 'middle', style: 'fill:#b8c0cc' },
      sw ? `flow cache ${sw.lookups} · programs v${sw.programVersion}` : '',
    ),
  ];
  svg.replaceChildren(...links, ...circuitPaths, ...nodes, ...switchBox);
}

/** One line per series over the snapshot's window; y from 0 to the largest value. */
function lineChart(svg, view, unit, label = (key) => key) {
  const width = Math.max(svg.clientWidth || 300, 200);
  const height = 150;
  const left = 44;
  const bottom = 18;
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const keys = Object.keys(view.values).sort();
  const max = Math.max(1, ...keys.flatMap((key) => view.values[key]));
  const t0 = view.t[0] ?? 0;
  const t1 = Math.max(t0 + 1, view.t[view.t.length - 1] ?? 1);
  const xOf = (t) => left + ((t - t0) / (t1 - t0)) * (width - left - 8);
  const yOf = (v) => height - bottom - (v / max) * (height - bottom - 22);
  const parts = [
    s('line', { x1: left, y1: height - bottom, x2: width - 8, y2: height - bottom, class: 'axis' }),
    s('line', { x1: left, y1: 22, x2: width - 8, y2: 22, class: 'axis', 'stroke-dasharray': '2 3' }),
    s('text', { x: left - 4, y: 26, 'text-anchor': 'end', class: 'label-muted' }, format(max)),
    s('text', { x: left - 4, y: height - bottom, 'text-anchor': 'end', class: 'label-muted' }, '0'),
    s(
      'text',
      { x: left, y: height - 4, class: 'label-muted' },
      view.t.length > 1 ? `${Math.round((t1 - t0) / 1000)} s ago` : 'collecting…',
    ),
    s('text', { x: width - 8, y: height - 4, 'text-anchor': 'end', class: 'label-muted' }, 'now'),
  ];
  let legendX = left;
  for (const key of keys) {
    const values = view.values[key];
    const points = values.map((v, i) => `${xOf(view.t[i]).toFixed(1)},${yOf(v).toFixed(1)}`).join(' ');
    parts.push(s('polyline', { points, fill: 'none', stroke: colourOf(key), 'stroke-width': 1.5, 'data-series': key }));
    const text = `${label(key)} ${format(lastOf(values))} ${unit}`;
    parts.push(s('rect', { x: legendX, y: 4, width: 8, height: 8, fill: colourOf(key) }));
    parts.push(s('text', { x: legendX + 11, y: 12, class: 'legend' }, text));
    legendX += 20 + text.length * 6;
  }
  if (keys.length === 0) parts.push(s('text', { x: left + 8, y: 14, class: 'label-muted' }, 'nothing yet'));
  svg.replaceChildren(...parts);
}

/** Each stage as a bar of its cells; each slice a block in its tenant's colour; free cells stay grey. */
function renderMemory(memory) {
  const svg = byId('memory');
  if (!memory) {
    svg.setAttribute('viewBox', '0 0 600 24');
    svg.style.height = '24px';
    return svg.replaceChildren(s('text', { x: 4, y: 16, class: 'label-muted' }, 'the allocator is not answering'));
  }
  const width = Math.max(svg.clientWidth || 900, 400);
  const rowH = 22;
  const left = 90;
  const height = memory.stages.length * rowH + 24;
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.style.height = `${height}px`;
  const scale = (width - left - 10) / Math.max(1, memory.cellsPerStage);
  const parts = [];
  const tenants = new Set();
  memory.stages.forEach((stage, row) => {
    const y = row * rowH + 4;
    parts.push(
      s('text', { x: 4, y: y + 13 }, `stage ${stage.stage}`),
      s('rect', { x: left, y, width: stage.cells * scale, height: rowH - 6, fill: '#eceff3' }),
    );
    for (const slice of stage.slices) {
      tenants.add(slice.tenant);
      const block = s('rect', {
        x: left + slice.offset * scale,
        y,
        width: Math.max(1, slice.amount * scale),
        height: rowH - 6,
        fill: colourOf(slice.tenant),
        'data-tenant': slice.tenant,
      });
      block.append(
        s(
          'title',
          {},
          `${slice.tenant} · ${slice.program}.${slice.register}: cells ${slice.offset}–${slice.offset + slice.amount - 1}`,
        ),
      );
      parts.push(block);
    }
    parts.push(
      s(
        'text',
        { x: width - 12, y: y + 13, 'text-anchor': 'end', class: 'label-muted' },
        `${format(stage.usedCells)} / ${format(stage.cells)} used`,
      ),
    );
  });
  let legendX = left;
  for (const tenant of tenants) {
    parts.push(s('rect', { x: legendX, y: height - 14, width: 8, height: 8, fill: colourOf(tenant) }));
    parts.push(s('text', { x: legendX + 11, y: height - 6, class: 'legend' }, tenant));
    legendX += 24 + tenant.length * 7;
  }
  parts.push(
    s(
      'text',
      { x: width - 12, y: height - 6, 'text-anchor': 'end', class: 'label-muted' },
      `pipeline v${memory.version} · ${format(memory.cellsPerStage)} cells per stage`,
    ),
  );
  svg.replaceChildren(...parts);
}

function renderPrograms(programs) {
  const el = byId('programs');
  const counts = Object.entries(programs.counts);
  const list = h('ul');
  for (const [tenant, events] of counts) {
    list.append(
      h(
        'li',
        {},
        `${tenant}: `,
        Object.entries(events)
          .map(([name, n]) => `${name} × ${n}`)
          .join(', '),
      ),
    );
  }
  const recent = h(
    'table',
    {},
    h(
      'thead',
      {},
      h('tr', {}, h('th', {}, 'time'), h('th', {}, 'tenant'), h('th', {}, 'event'), h('th', {}, 'fields')),
    ),
  );
  const body = h('tbody');
  for (const event of programs.recent.slice(0, 12)) {
    body.append(
      h(
        'tr',
        {},
        h('td', {}, new Date(event.timestampUs / 1000).toLocaleTimeString()),
        h('td', {}, event.tenant),
        h('td', {}, event.event),
        h(
          'td',
          { class: 'mono' },
          Object.entries(event.fields)
            .map(([k, v]) => `${k}=${v}`)
            .join(' '),
        ),
      ),
    );
  }
  recent.append(body);
  el.replaceChildren(
    counts.length === 0 ? h('p', { class: 'muted' }, 'no program has reported an event yet') : list,
    recent,
  );
}

function renderTraces(traces) {
  byId('pcaps').replaceChildren(
    'pcap: ',
    ...Object.entries(traces.tenants).map(([tenant, summary]) =>
      h(
        'a',
        {
          href: `/dashboard/api/traces/${encodeURIComponent(tenant)}/pcap`,
          download: `${tenant}.pcap`,
          'data-pcap': tenant,
        },
        `${tenant} (${summary.kept} frames)`,
      ),
    ),
  );
  byId('traces').tBodies[0].replaceChildren(
    ...traces.recent.slice(0, 15).map((t) => {
      const hd = t.headers || {};
      const traceCell = t.traceId ? h('a', { href: '#', 'data-trace': t.traceId }, t.traceId.slice(0, 8)) : '—';
      if (t.traceId)
        traceCell.addEventListener('click', (event) => {
          event.preventDefault();
          void openTrace(t.traceId);
        });
      return h(
        'tr',
        { 'data-tenant': t.tenant },
        h('td', {}, new Date(t.timestampUs / 1000).toLocaleTimeString()),
        h('td', {}, t.tenant),
        h('td', {}, t.mirrored ? 'mirrored' : `${t.verdict}${t.dropReason ? ` (${t.dropReason})` : ''}`),
        h('td', {}, t.mirrored ? `port ${t.inPortNo}` : `${t.inPort} → ${(t.outPorts || []).join(', ') || '—'}`),
        h(
          'td',
          { class: 'mono' },
          hd.ipSrc
            ? `${hd.ipSrc}${hd.srcPort ? `:${hd.srcPort}` : ''} → ${hd.ipDst}${hd.dstPort ? `:${hd.dstPort}` : ''}`
            : hd.srcMac
              ? `${hd.srcMac} → ${hd.dstMac}`
              : '',
        ),
        h('td', { class: 'num' }, t.length),
        h('td', { class: 'mono' }, traceCell),
      );
    }),
  );
}

function renderComponents(components) {
  byId('components').replaceChildren(
    ...components.map((c) =>
      h(
        'span',
        {
          class: c.state === 'running' || c.state === 'ready' ? '' : 'stale',
          title: `last heartbeat ${c.lastReceivedAt}`,
        },
        `${c.component} ${c.instance.slice(0, 8)}: ${c.state}`,
      ),
    ),
  );
}

// ---- trace view (Jaeger) ------------------------------------------------------------------------------------------

async function listTraces() {
  const service = byId('trace-service').value;
  const list = byId('trace-list');
  list.replaceChildren(h('li', { class: 'muted' }, 'loading…'));
  const answer = await fetch(`/dashboard/api/jaeger/traces?service=${encodeURIComponent(service)}&limit=20`, {
    credentials: 'same-origin',
  });
  const body = await answer.json();
  if (!answer.ok)
    return list.replaceChildren(
      h('li', { class: 'error' }, body.error ? body.error.message : `failed (${answer.status})`),
    );
  if (body.traces.length === 0)
    return list.replaceChildren(h('li', { class: 'muted' }, `no traces of ${service} in the last hour`));
  list.replaceChildren(
    ...body.traces.map((t) => {
      const item = h(
        'li',
        { 'data-trace': t.traceId, title: t.traceId },
        `${new Date(t.startUs / 1000).toLocaleTimeString()} ${t.root} · ${t.spans} spans · ${format(t.durationUs / 1000)} ms`,
      );
      item.addEventListener('click', () => void openTrace(t.traceId));
      return item;
    }),
  );
}

async function openTrace(traceId) {
  const el = byId('waterfall');
  if (!/^[0-9a-fA-F]{16,32}$/.test(traceId))
    return el.replaceChildren(h('p', { class: 'error' }, 'a trace id is 16 or 32 hex digits'));
  byId('trace-id').value = traceId;
  el.replaceChildren(h('p', { class: 'muted' }, 'loading…'));
  const answer = await fetch(`/dashboard/api/jaeger/traces/${traceId}`, { credentials: 'same-origin' });
  const body = await answer.json();
  if (!answer.ok)
    return el.replaceChildren(
      h('p', { class: 'error' }, body.error ? body.error.message : `failed (${answer.status})`),
    );
  drawWaterfall(el, body);
}

/** Spans in start order, indented by depth, each a bar placed on the trace's time axis. */
function drawWaterfall(el, trace) {
  const spans = trace.spans;
  const t0 = Math.min(...spans.map((span) => span.startUs));
  const t1 = Math.max(...spans.map((span) => span.startUs + span.durationUs));
  const total = Math.max(1, t1 - t0);
  const depth = new Map();
  const byIdMap = new Map(spans.map((span) => [span.spanId, span]));
  const depthOf = (span) => {
    if (depth.has(span.spanId)) return depth.get(span.spanId);
    const parent = span.parentId && byIdMap.get(span.parentId);
    const d = parent && parent !== span ? Math.min(depthOf(parent) + 1, 20) : 0;
    depth.set(span.spanId, d);
    return d;
  };
  const rows = spans.map((span) => {
    const bar = h('div', {
      class: `wf-bar${span.error ? ' err' : ''}`,
      style: `left:${(((span.startUs - t0) / total) * 100).toFixed(2)}%;width:${((span.durationUs / total) * 100).toFixed(2)}%;background:${colourOf(`svc:${span.service}`)}`,
      title: Object.entries(span.attributes)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n'),
    });
    return h(
      'div',
      { class: 'wf-row', 'data-span': span.spanId },
      h(
        'div',
        { class: 'wf-name', style: `padding-left:${depthOf(span) * 12}px`, title: span.name },
        `${span.service}: ${span.name} `,
        h('small', {}, `${format(span.durationUs / 1000)} ms`),
      ),
      h('div', { class: 'wf-track' }, bar),
    );
  });
  el.replaceChildren(
    h('p', { class: 'mono' }, `trace ${trace.traceId} · ${spans.length} spans · ${format(total / 1000)} ms`),
    ...rows,
  );
}

document.addEventListener('DOMContentLoaded', () => void start());
