// Operations pages: services per environment (revisions, strategy progress, traffic weights,
// instances and health, history, promote/abort/rollback), pending approvals, alarms, and
// metric charts from the monitor's query API. Each shows a note when the server lacks the API.
'use strict';
(function () {
  const G = window.Gantry;
  const { h, api, badge, ago, clear, optional } = G;

  const canOperate = () => G.role === 'operator' || G.role === 'admin';

  G.pages.services = async (root) => {
    root.append(h('h1', {}, 'Services'));
    const data = await optional(() => api('GET', '/services'), 'deployment API');
    if (data.missing) return root.append(h('p', { class: 'muted' }, data.missing));
    if (!data.services.length) return root.append(h('p', { class: 'muted' }, 'No services declared (gantry apply).'));
    for (const s of data.services) {
      const env = s.environment;
      const q = '?env=' + encodeURIComponent(env);
      const act = async (what) => {
        if (what === 'rollback' && !confirm('Roll back ' + s.name + ' in ' + env + '?')) return;
        try { await api('POST', '/services/' + encodeURIComponent(s.name) + '/' + what + q, {}); } catch (e) { alert(e.message); }
        G.route();
      };
      const stable = s.weights ? s.weights.stable : 100;
      const canary = s.weights ? s.weights.canary : 0;
      const panel = h('div', { class: 'panel', 'data-service': s.name + '/' + env },
        h('div', { class: 'row' }, h('h2', { style: 'flex:1;margin:0' }, s.name + ' · ' + env), badge(s.status),
          canOperate() && s.deployment_active ? h('button', { class: 'primary', onclick: () => act('promote') }, 'Promote') : null,
          canOperate() && s.deployment_active ? h('button', { class: 'danger', onclick: () => act('abort') }, 'Abort') : null,
          canOperate() ? h('button', { class: 'danger', onclick: () => act('rollback'), 'data-action': 'rollback' }, 'Roll back') : null),
        h('p', {}, 'Stable ', h('span', { class: 'mono' }, s.stable_revision || '—'),
          s.new_revision ? [' → new ', h('span', { class: 'mono' }, s.new_revision)] : null,
          ' · strategy ', s.strategy || 'rolling', s.step ? ' · ' + s.step : null),
        h('div', { class: 'bar', title: 'traffic: stable ' + stable + ' / new ' + canary },
          h('span', { class: 'stable', style: 'width:' + stable + '%' }), h('span', { class: 'canary', style: 'width:' + canary + '%' })),
        h('table', {}, h('tr', {}, ['Instance', 'Revision', 'Address', 'Health', 'Restarts'].map((t) => h('th', {}, t))),
          (s.instances || []).map((i) => h('tr', {}, h('td', { class: 'mono' }, i.id), h('td', { class: 'mono' }, i.revision),
            h('td', { class: 'mono' }, i.address || ''), h('td', {}, badge(i.health)), h('td', {}, String(i.restarts || 0))))));
      root.append(panel);
      const hist = await optional(() => api('GET', '/services/' + encodeURIComponent(s.name) + '/history' + q), 'history');
      if (!hist.missing && hist.deployments && hist.deployments.length) {
        panel.append(h('h2', {}, 'History'), h('table', {},
          h('tr', {}, ['Deployment', 'Revision', 'Strategy', 'Result', 'Started'].map((t) => h('th', {}, t))),
          hist.deployments.map((d) => h('tr', {}, h('td', { class: 'mono' }, String(d.id)), h('td', { class: 'mono' }, d.revision),
            h('td', {}, d.strategy), h('td', {}, badge(d.status)), h('td', { class: 'muted' }, ago(d.started_ms))))));
      }
    }
  };

  G.pages.approvals = async (root) => {
    root.append(h('h1', {}, 'Pending approvals'));
    const data = await optional(() => api('GET', '/approvals'), 'approvals API');
    if (data.missing) return root.append(h('p', { class: 'muted' }, data.missing));
    if (!data.approvals.length) return root.append(h('p', { class: 'muted' }, 'Nothing is waiting for approval.'));
    const decide = async (a, verdict) => {
      try { await api('POST', '/approvals/' + a.id + '/' + verdict, {}); } catch (e) { alert(e.message); }
      G.route();
    };
    root.append(h('table', { id: 'approvals' },
      h('tr', {}, ['What', 'Environment', 'Requested', ''].map((t) => h('th', {}, t))),
      data.approvals.map((a) => h('tr', { 'data-approval': a.id },
        h('td', {}, a.run_id ? h('a', { href: '#/runs/' + a.run_id }, a.title || ('run ' + a.run_id)) : (a.title || a.service || '')),
        h('td', {}, a.environment), h('td', { class: 'muted' }, ago(a.requested_ms)),
        h('td', {}, canOperate() ? [h('button', { class: 'primary', onclick: () => decide(a, 'approve') }, 'Approve'), ' ',
                                    h('button', { class: 'danger', onclick: () => decide(a, 'reject') }, 'Reject')] : null)))));
  };

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
