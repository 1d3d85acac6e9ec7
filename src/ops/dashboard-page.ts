/**
 * The dashboard page (`/_wsmesh`): one self-contained HTML document with inline CSS and JS
 * (no CDN, no build step, no framework). It polls the state API every second and draws the
 * cluster graph (SVG), per-second rate charts and tables of clones, server links, groups and
 * functions. Every value coming from the server is put in the page with `textContent` or
 * attributes, never parsed as HTML. A Content-Security-Policy with the hashes of the inline
 * script and style allows nothing else.
 * @module
 */
import { createHash } from 'node:crypto';

const STYLE = `
:root { color-scheme: dark; --bg: #10141a; --panel: #171d26; --line: #2a3442; --text: #d8e0ea;
  --muted: #8190a3; --self: #4c9aff; --linked: #36c275; --routed: #2bb5b0; --connecting: #e0a82e;
  --unreachable: #e5534b; --server: #a371f7; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--text); }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 16px; padding: 12px 20px;
  border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
h1 { font-size: 18px; margin: 0; } h1 span { color: var(--self); }
h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted);
  margin: 0 0 8px; }
#status { color: var(--muted); } #status.down { color: var(--unreachable); font-weight: 600; }
main { padding: 16px 20px; display: grid; gap: 16px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 10px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px; }
.card b { display: block; font-size: 20px; } .card small { color: var(--muted); }
.row { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(420px, 100%), 1fr));
  gap: 16px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px; overflow: auto; min-width: 0; }
#graph { width: 100%; height: auto; aspect-ratio: 4 / 3; max-height: 360px; display: block; }
@media (max-width: 520px) { header, main { padding-left: 10px; padding-right: 10px; }
  main { gap: 10px; } .cards { grid-template-columns: repeat(auto-fit, minmax(100px, 1fr)); } }
.edge { stroke: var(--linked); stroke-width: 2.5; }
.edge.link { stroke: var(--server); stroke-dasharray: 6 4; }
.edge.backplane { stroke: var(--routed); stroke-dasharray: 2 4; }
.node circle { stroke: var(--bg); stroke-width: 3; fill: var(--routed); }
.node.state-self circle { fill: var(--self); } .node.state-linked circle { fill: var(--linked); }
.node.state-connecting circle { fill: var(--connecting); }
.node.state-unreachable circle { fill: var(--unreachable); }
.node.state-server circle { fill: var(--server); }
.node text { fill: var(--text); font-size: 12px; text-anchor: middle; }
.latency { fill: var(--muted); font-size: 11px; text-anchor: middle; }
.legend { display: flex; gap: 12px; flex-wrap: wrap; color: var(--muted); font-size: 12px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 50%;
  margin-right: 4px; vertical-align: -1px; }
.legend .self { background: var(--self); } .legend .linked { background: var(--linked); }
.legend .routed { background: var(--routed); } .legend .connecting { background: var(--connecting); }
.legend .unreachable { background: var(--unreachable); } .legend .server { background: var(--server); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 10px; }
.chart svg { width: 100%; height: 50px; display: block; background: #0d1117; border-radius: 4px; }
.chart polyline { fill: none; stroke: var(--self); stroke-width: 1.5; }
.chart header { padding: 0; border: 0; display: flex; justify-content: space-between; gap: 6px;
  font-size: 12px; color: var(--muted); } .chart header b { color: var(--text); }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line);
  white-space: nowrap; }
th { color: var(--muted); font-weight: 500; }
td.empty { color: var(--muted); font-style: italic; }
.badge { padding: 1px 6px; border-radius: 8px; font-size: 12px; background: var(--line); }
.badge.linked { background: #1d4d33; } .badge.routed { background: #17484a; }
.badge.connecting { background: #5a4515; } .badge.unreachable { background: #5c2522; }
.badge.connected { background: #1d4d33; } .badge.reconnecting { background: #5a4515; }
.badge.closed { background: #5c2522; }
`;

const SCRIPT = `
(function () {
  'use strict';
  var api = document.body.getAttribute('data-api');
  var SVG = 'http://www.w3.org/2000/svg';
  var SERIES = [
    ['messagesIn', 'messages in/s'], ['deliveries', 'group deliveries/s'],
    ['publishes', 'publishes/s'], ['rpcCalls', 'RPC calls/s'], ['rpcErrors', 'RPC errors/s'],
    ['relayedIn', 'relayed in/s'], ['clients', 'clients']
  ];
  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function sv(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    for (var key in attrs) node.setAttribute(key, String(attrs[key]));
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function ms(value) { return value === null || value === undefined ? '-' : value.toFixed(1) + ' ms'; }
  function num(value) {
    if (value >= 100 || value === 0) return String(Math.round(value));
    return value.toFixed(value >= 10 ? 1 : 2);
  }
  function duration(seconds) {
    var s = Math.floor(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h ? h + 'h ' : '') + (h || m ? m + 'm ' : '') + (s % 60) + 's';
  }
  function table(id, head, rows, empty) {
    var t = $(id); clear(t);
    var tr = el('tr');
    head.forEach(function (h) { tr.appendChild(el('th', h)); });
    t.appendChild(tr);
    if (rows.length === 0) {
      var row = el('tr'), td = el('td', empty, 'empty');
      td.colSpan = head.length; row.appendChild(td); t.appendChild(row);
      return;
    }
    rows.forEach(function (cells) {
      var row = el('tr');
      cells.forEach(function (cell) {
        var td = el('td');
        if (cell && typeof cell === 'object') td.appendChild(cell); else td.textContent = String(cell);
        row.appendChild(td);
      });
      t.appendChild(row);
    });
  }
  function badge(state) { return el('span', state, 'badge ' + state); }
  function cards(state) {
    var s = state.stats, c = $('cards'); clear(c);
    [['clients', s.clients], ['sockets', s.sockets], ['groups', s.groups],
     ['clones linked', s.clones.linked + ' / ' + s.clones.known], ['server links', s.serverLinks],
     ['messages in', s.messagesIn], ['RPC calls', s.rpc.calls], ['RPC errors', s.rpc.errors],
     ['uptime', duration((state.node.now - state.node.startedAt) / 1000)]
    ].concat(s.backplane ? [['backplane ' + s.backplane.kind, s.backplane.status]] : [])
    .forEach(function (item) {
      var card = el('div', null, 'card');
      card.appendChild(el('b', item[1])); card.appendChild(el('small', item[0]));
      c.appendChild(card);
    });
  }
  function graph(state) {
    var g = $('graph'); clear(g);
    var nodes = state.graph.nodes, w = 480, h = 360, cx = w / 2, cy = h / 2;
    var radius = Math.min(w, h) / 2 - 48, pos = {};
    nodes.forEach(function (node, i) {
      var angle = -Math.PI / 2 + (2 * Math.PI * i) / nodes.length;
      pos[node.id] = nodes.length === 1 ? [cx, cy]
        : [cx + radius * Math.cos(angle), cy + radius * Math.sin(angle)];
    });
    var edges = sv('g', { 'class': 'edges' }), labels = sv('g', { 'class': 'labels' });
    state.graph.edges.forEach(function (edge) {
      var a = pos[edge.from], b = pos[edge.to];
      if (!a || !b) return;
      var line = sv('line', { 'class': 'edge ' + edge.kind, x1: a[0], y1: a[1], x2: b[0], y2: b[1],
        'data-from': edge.from, 'data-to': edge.to });
      var title = sv('title', {});
      title.textContent = edge.from + ' - ' + edge.to + (edge.namespace ? ' (' + edge.namespace + ')' : '')
        + (edge.latencyMs !== undefined ? ', ' + ms(edge.latencyMs) : '');
      line.appendChild(title);
      edges.appendChild(line);
      var text = [];
      if (edge.namespace) text.push(edge.namespace);
      if (edge.latencyMs !== undefined) text.push(ms(edge.latencyMs));
      if (text.length) {
        var label = sv('text', { 'class': 'latency', x: (a[0] + b[0]) / 2, y: (a[1] + b[1]) / 2 - 4 });
        label.textContent = text.join(' ');
        labels.appendChild(label);
      }
    });
    g.appendChild(edges); g.appendChild(labels);
    nodes.forEach(function (node) {
      var p = pos[node.id];
      var group = sv('g', { 'class': 'node ' + node.kind + ' state-' + node.state, 'data-id': node.id,
        transform: 'translate(' + p[0] + ',' + p[1] + ')' });
      group.appendChild(sv('circle', { r: node.kind === 'self' ? 26 : 22 }));
      var label = sv('text', { y: 42 });
      label.textContent = node.id.length > 18 ? node.id.slice(0, 17) + '\\u2026' : node.id;
      group.appendChild(label);
      var title = sv('title', {});
      title.textContent = node.id + ' (' + node.state + ')' + (node.url ? ' ' + node.url : '');
      group.appendChild(title);
      g.appendChild(group);
    });
  }
  function charts(state) {
    var box = $('charts'); clear(box);
    var points = state.rates.points;
    SERIES.forEach(function (series) {
      var values = points.map(function (p) { return p[series[0]]; });
      var last = values.length ? values[values.length - 1] : 0;
      var max = Math.max.apply(null, values.concat([1]));
      var chart = el('div', null, 'chart'); chart.setAttribute('data-key', series[0]);
      var head = el('header'); head.appendChild(el('span', series[1])); head.appendChild(el('b', num(last)));
      chart.appendChild(head);
      var s = sv('svg', { viewBox: '0 0 200 50', preserveAspectRatio: 'none' });
      if (values.length > 1) {
        var step = 200 / (values.length - 1);
        s.appendChild(sv('polyline', { points: values.map(function (v, i) {
          return (i * step).toFixed(1) + ',' + (48 - (v / max) * 44).toFixed(1);
        }).join(' ') }));
      }
      chart.appendChild(s);
      box.appendChild(chart);
    });
    $('window').textContent = points.length
      ? 'last ' + duration((points.length * state.rates.intervalMs) / 1000)
      : 'collecting (one point every ' + state.rates.intervalMs / 1000 + ' s)';
  }
  function render(state) {
    $('node').textContent = state.node.id;
    $('status').className = '';
    $('status').textContent = (state.node.url || '') + ' \\u00b7 updated ' + new Date(state.node.now).toLocaleTimeString();
    cards(state); graph(state); charts(state);
    table('clones', ['clone', 'state', 'url', 'latency', 'relay out', 'relay in'],
      state.stats.clones.peers.map(function (p) {
        return [p.id, badge(p.state), p.url || '-', ms(p.latencyMs), p.relayFramesOut, p.relayFramesIn];
      }), 'no clones');
    var b = state.stats.backplane;
    $('backplane-panel').hidden = !b;
    table('backplane', ['kind', 'status', 'server', 'groups', 'messages out / in', 'calls out / in'],
      b ? [[b.kind, badge(b.status), b.server || '-', b.groups, b.messagesOut + ' / ' + b.messagesIn,
        b.callsOut + ' / ' + b.callsIn]] : [], 'no backplane');
    table('links', ['peer', 'namespace', 'direction', 'routes', 'in flight', 'latency'],
      state.serverLinks.map(function (l) {
        return [l.peerId, l.namespace, l.direction, l.routes, l.inFlight, ms(l.latencyMs)];
      }), 'no server links');
    table('groups', ['group', 'subscribers here', 'clones with subscribers'],
      state.groups.map(function (g) { return [g.id, g.subscribers, g.clones.join(', ') || '-']; }),
      'no groups');
    var rows = [];
    state.namespaces.forEach(function (ns) {
      ns.functions.forEach(function (fn) {
        rows.push([ns.name, fn.name, fn.kind, fn.places.map(function (p) {
          return p.local ? 'local' : 'via ' + p.via + ' (' + p.path.join(' \\u2192 ') + ')';
        }).join('; ')]);
      });
    });
    table('functions', ['namespace', 'function', 'kind', 'where (first = used)'], rows, 'no functions');
  }
  function fail(error) {
    $('status').className = 'down';
    $('status').textContent = 'disconnected: ' + (error && error.message ? error.message : error);
    document.body.setAttribute('data-error', String(error && error.message ? error.message : error));
  }
  function poll() {
    fetch(api, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (response) {
        if (response.status === 401) throw new Error('session expired: reload the page to log in');
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(function (state) { document.body.removeAttribute('data-error'); render(state); })
      .catch(fail)
      .then(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
`;

const BODY = `
<header><h1>wsmesh <span id="node">&hellip;</span></h1><span id="status">connecting&hellip;</span></header>
<main>
  <section class="cards" id="cards"></section>
  <section class="row">
    <div class="panel"><h2>Cluster</h2><svg id="graph" viewBox="0 0 480 360" role="img" aria-label="cluster graph"></svg>
      <div class="legend"><span><i class="self"></i>this node</span>
        <span><i class="linked"></i>linked clone</span>
        <span><i class="routed"></i>routed (via clones)</span>
        <span><i class="connecting"></i>connecting</span>
        <span><i class="unreachable"></i>unreachable</span>
        <span><i class="server"></i>RPC server link</span>
        <span><i class="routed"></i>dotted: through the backplane</span></div></div>
    <div class="panel"><h2>Rates <span id="window"></span></h2><div class="charts" id="charts"></div></div>
  </section>
  <section class="row">
    <div class="panel"><h2>Clones / nodes</h2><table id="clones"></table>
      <div id="backplane-panel" hidden><h2>Backplane</h2><table id="backplane"></table></div></div>
    <div class="panel"><h2>Server links</h2><table id="links"></table></div>
  </section>
  <section class="row">
    <div class="panel"><h2>Groups</h2><table id="groups"></table></div>
    <div class="panel"><h2>Functions</h2><table id="functions"></table></div>
  </section>
</main>
`;

function hash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** Content-Security-Policy of the page: only its own inline script and style, and the API. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${hash(SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function escapeAttribute(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/"/g, '&quot;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** The dashboard page; `apiPath` is where it polls the state from. */
export function dashboardHtml(apiPath: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>wsmesh dashboard</title><style>${STYLE}</style></head>
<body data-api="${escapeAttribute(apiPath)}">${BODY}<script>${SCRIPT}</script></body></html>
`;
}

/**
 * The page shown without a valid credential: a form that posts the token to `loginPath`
 * (in the request body, so it never appears in a url); `failed` says the last one was wrong.
 */
export function loginHtml(loginPath: string, failed: boolean): string {
  const notice = failed ? '<p id="login-error">Wrong token.</p>' : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>wsmesh dashboard</title><style>${STYLE}</style></head>
<body><main><h1>wsmesh dashboard</h1><p>This page needs the dashboard token
(<code>wsmesh start</code> prints it once, or set <code>WSMESH_DASHBOARD_TOKEN</code>).</p>${notice}
<form method="post" action="${escapeAttribute(loginPath)}"><input type="password" name="token" placeholder="token" autocomplete="current-password" autofocus required> <button>Open</button></form></main></body></html>
`;
}
