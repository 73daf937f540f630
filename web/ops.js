// Operations pages: alarms and metric charts from the monitor's query API (deployments are in
// deploy.js). Each shows a note when the server lacks the API.
'use strict';
(function () {
  const G = window.Gantry;
  const { h, api, badge, ago, clear, optional } = G;

  G.pages.alarms = async (root) => {
    root.append(h('h1', {}, 'Alarms'));
    const data = await optional(() => api('GET', '/alarms'), 'alarms API');
    if (data.missing) return root.append(h('p', { class: 'muted' }, data.missing));
    root.append(h('table', {}, h('tr', {}, ['Alarm', 'State', 'Reason', 'Since'].map((t) => h('th', {}, t))),
      data.alarms.map((a) => h('tr', {}, h('td', {}, a.name), h('td', {}, badge(a.state)), h('td', {}, a.reason || ''),
        h('td', { class: 'muted' }, ago(a.updated_ms))))));
  };

  function chart(points, title) {
    const W = 560, H = 160, P = 28;
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('class', 'chart'); svg.setAttribute('width', W); svg.setAttribute('height', H);
    const text = (x, y, s) => {
      const t = document.createElementNS(svg.namespaceURI, 'text');
      t.setAttribute('x', x); t.setAttribute('y', y); t.textContent = s; svg.append(t);
    };
    text(P, 14, title);
    if (!points.length) { text(P, H / 2, 'no data'); return svg; }
    const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
    const x0 = Math.min(...xs), x1 = Math.max(...xs) || x0 + 1, y1 = Math.max(...ys, 1e-9);
    const X = (x) => P + (x - x0) / Math.max(1, x1 - x0) * (W - 2 * P);
    const Y = (y) => H - P + 10 - (y / y1) * (H - 2 * P);
    const path = document.createElementNS(svg.namespaceURI, 'path');
    path.setAttribute('d', points.map((p, i) => (i ? 'L' : 'M') + X(p[0]).toFixed(1) + ' ' + Y(p[1]).toFixed(1)).join(' '));
    svg.append(path);
    text(W - P - 60, 14, 'max ' + (Math.round(y1 * 100) / 100));
    return svg;
  }

  G.pages.metrics = async (root) => {
    root.append(h('h1', {}, 'Metrics'));
    const series = [
      ['gantry_run_duration_seconds', 'avg', 'Run duration (s)'],
      ['gantry_runs_total', 'sum', 'Runs'],
      ['gantry_lb_requests_total', 'sum', 'Requests'],
      ['gantry_lb_responses_5xx_total', 'sum', '5xx responses'],
      ['gantry_lb_request_duration_seconds', 'p99', 'p99 latency (s)'],
      ['gantry_instance_cpu_seconds_total', 'sum', 'Instance CPU (s)'],
      ['gantry_instance_memory_bytes', 'max', 'Instance memory (bytes)'],
    ];
    const grid = h('div', { class: 'row' });
    root.append(grid);
    for (const [metric, stat, title] of series) {
      const data = await optional(() => api('GET', '/metrics/query?metric=' + metric + '&stat=' + stat + '&period=60&range=3600'), 'metrics query API');
      if (data.missing) { clear(grid).append(h('p', { class: 'muted' }, data.missing)); return; }
      grid.append(chart(data.points || [], title));
    }
  };
})();
