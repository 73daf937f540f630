// Deployments: services per environment (stable and new revision, strategy progress, traffic
// weights, instances and their health, history) with promote / abort / rollback, and pending
// approvals with approve / reject. Buttons only for operators and admins; every POST goes
// through api(), which sends the session cookie and the X-Gantry-CSRF header.
// API (src/deploy/api.h): GET /services (list, when the server has it), GET /services/S/E,
// GET /deployments?service=S&environment=E (newest last), POST /services/S/E/ACTION.
'use strict';
(function () {
  const G = window.Gantry;
  const { h, api, badge, ago, optional } = G;

  const canOperate = () => G.role === 'operator' || G.role === 'admin';
  const enc = encodeURIComponent;
  const terminal = new Set(['succeeded', 'failed', 'rolled_back', 'aborted', 'rejected']);
  const RECENT = 'gantry.services';

  // Revisions are commits: shown as 12 hex digits, the full one in the title and data.
  const short = (r) => (/^[0-9a-f]{40}$/.test(r || '') ? r.slice(0, 12) : (r || ''));
  const rev = (r, attrs) => h('span', Object.assign({ class: 'mono', title: r || '', 'data-revision': r || '' }, attrs || {}),
    short(r) || '—');

  // Services this browser opened, for servers without a service list.
  const recent = () => { try { return JSON.parse(localStorage.getItem(RECENT)) || []; } catch (e) { return []; } };
  const remember = (service, environment) => {
    const list = recent().filter((s) => s.service !== service || s.environment !== environment);
    list.unshift({ service, environment });
    localStorage.setItem(RECENT, JSON.stringify(list.slice(0, 20)));
  };

  // [{service, environment}] from the server's list when it has one, else the recent ones.
  async function knownServices() {
    const data = await optional(() => api('GET', '/services'), 'service list');
    if (!data.missing && Array.isArray(data.services)) {
      return data.services.map((s) => ({ service: s.service || s.name, environment: s.environment }));
    }
    return recent();
  }

  async function load(service, environment) {
    const q = '?service=' + enc(service) + '&environment=' + enc(environment);
    const [status, hist] = await Promise.all([
      optional(() => api('GET', '/services/' + enc(service) + '/' + enc(environment)), 'deployment API'),
      optional(() => api('GET', '/deployments' + q), 'deployment API')]);
    const deployments = hist.missing ? [] : (hist.deployments || []);
    const active = [...deployments].reverse().find((d) => !terminal.has(d.state)) || null;
    return { status, deployments, active };
  }

  async function post(service, environment, action, body) {
    try {
      await api('POST', '/services/' + enc(service) + '/' + enc(environment) + '/' + action, body || {});
      return true;
    } catch (e) {
      alert(action + ' failed: ' + e.message);
      return false;
    }
  }

  // The traffic split: one segment per weighted group, labelled with the revision its
  // instances run ("web.production.a" -> the revision of that group's instances).
  function trafficBar(weights, instances) {
    const groups = Object.entries(weights || {}).filter(([, w]) => w > 0);
    const revisionOf = (g) => ((instances || []).find((i) => i.group === g) || {}).revision || g.split('.').pop();
    const total = groups.reduce((a, [, w]) => a + w, 0) || 1;
    return h('div', { id: 'traffic' },
      h('div', { class: 'bar' }, groups.map(([g, w], n) =>
        h('span', { class: n === 0 ? 'stable' : 'canary', style: 'width:' + (100 * w / total) + '%' }))),
      h('p', { class: 'muted small' }, groups.length
        ? groups.map(([g, w]) => short(revisionOf(g)) + ' ' + Math.round(100 * w / total) + '%').join(' · ')
        : 'no traffic routed'));
  }

  function progress(d) {
    if (!d) return null;
    const parts = ['strategy ' + (d.strategy || 'rolling'), 'phase ' + d.phase];
    if (d.strategy === 'canary') parts.push('step ' + (d.step + 1), 'canary weight ' + d.canary_weight + '%');
    if (d.analysis_runs) parts.push('analysis ' + d.analysis_runs + ' runs, ' + d.analysis_failures + ' failed');
    return h('p', { id: 'progress' }, parts.join(' · '), d.reason ? [' · ', h('span', { class: 'error' }, d.reason)] : null);
  }

  function approvalBox(service, environment, d, refresh) {
    if (!d || d.state !== 'waiting_approval') return null;
    const decide = async (approve) => {
      if (!approve && !confirm('Reject deployment ' + d.id + ' of ' + d.revision + '?')) return;
      if (await post(service, environment, 'approve', { user: G.name || 'dashboard', approve })) refresh();
    };
    return h('div', { class: 'panel approval', id: 'approval', 'data-deployment': d.id },
      h('strong', {}, 'Waiting for approval: '), rev(d.revision), ' to ' + environment,
      (d.approvals || []).length ? h('span', { class: 'muted' }, ' · approved by ' + d.approvals.join(', ')) : null,
      canOperate() ? h('span', { class: 'row', style: 'margin-top:8px' },
        h('button', { class: 'primary', id: 'approve', onclick: () => decide(true) }, 'Approve'),
        h('button', { class: 'danger', id: 'reject', onclick: () => decide(false) }, 'Reject')) : null);
  }

  function actions(service, environment, view, refresh) {
    if (!canOperate()) return null;
    const d = view.active;
    const stable = view.status.stable_revision || '';
    // Roll back to any earlier revision that once succeeded (newest first); default: the
    // previous stable one, which the server picks when "to" is empty.
    const revisions = [...new Set(view.deployments.filter((x) => x.state === 'succeeded' && x.revision !== stable)
      .map((x) => x.revision).reverse())];
    const to = h('select', { id: 'rollback-to' }, h('option', { value: '' }, 'previous revision'),
      revisions.map((r) => h('option', { value: r }, short(r))));
    const run = async (action, body, question) => {
      if (question && !confirm(question)) return;
      if (await post(service, environment, action, body)) refresh();
    };
    const live = d && (d.state === 'running' || d.state === 'paused');
    return h('div', { class: 'row', id: 'actions' },
      live ? h('button', { class: 'primary', id: 'promote', onclick: () => run('promote', {}) }, 'Promote') : null,
      live ? h('button', { id: 'promote-full', onclick: () => run('promote', { full: true }) }, 'Promote fully') : null,
      d ? h('button', { class: 'danger', id: 'abort', onclick: () => run('abort', {}, 'Abort deployment ' + d.id + '?') }, 'Abort') : null,
      !d && stable ? [h('span', { class: 'muted' }, 'Roll back to'), to,
        h('button', { class: 'danger', id: 'rollback', onclick: () =>
          run('rollback', to.value ? { to: to.value } : {}, 'Roll back ' + service + ' in ' + environment + ' to ' +
              (short(to.value) || 'the previous revision') + '?') }, 'Roll back')] : null);
  }

  function historyTable(deployments) {
    return h('table', { id: 'history' },
      h('tr', {}, ['#', 'Revision', 'From', 'Strategy', 'State', 'Reason', 'Started', 'Finished'].map((t) => h('th', {}, t))),
      [...deployments].reverse().map((d) => h('tr', { 'data-deployment': d.id },
        h('td', { class: 'mono' }, String(d.id) + (d.is_rollback ? ' ↩' : '')),
        h('td', {}, rev(d.revision)), h('td', { class: 'muted' }, d.from_revision ? rev(d.from_revision) : ''),
        h('td', {}, d.strategy), h('td', {}, badge(d.state)), h('td', { class: 'muted' }, d.reason || ''),
        h('td', { class: 'muted' }, ago(d.created_ms)), h('td', { class: 'muted' }, ago(d.finished_ms)))));
  }

  // One service in one environment; refreshes itself every 2 s while a deployment is active.
  G.pages.service = async (root, params) => {
    const { service, environment } = params;
    const view = await load(service, environment);
    root.append(h('p', {}, h('a', { href: '#/services' }, '← Services')));
    if (view.status.missing) return root.append(h('p', { class: 'muted' }, view.status.missing));
    remember(service, environment);
    const st = view.status, d = view.active;
    const refresh = () => G.route();
    root.append(h('div', { class: 'panel', id: 'service', 'data-service': service + '/' + environment },
      h('div', { class: 'row' }, h('h1', { style: 'flex:1;margin:0' }, service + ' · ' + environment),
        d ? badge(d.state) : badge('stable')),
      h('p', {}, 'Stable ', rev(st.stable_revision, { id: 'stable-revision' }),
        d ? [' → new ', rev(d.revision, { id: 'new-revision' })] : null),
      progress(d), trafficBar(st.weights, st.instances),
      approvalBox(service, environment, d, refresh),
      actions(service, environment, view, refresh)));
    root.append(h('h2', {}, 'Instances'), h('table', { id: 'instances' },
      h('tr', {}, ['Instance', 'Revision', 'Address', 'Health', 'Restarts'].map((t) => h('th', {}, t))),
      (st.instances || []).map((i) => h('tr', {}, h('td', { class: 'mono' }, i.id), h('td', {}, rev(i.revision)),
        h('td', { class: 'mono' }, i.address || ''), h('td', {}, badge(i.health)), h('td', {}, String(i.restarts || 0))))));
    if (d && (d.events || []).length) {
      root.append(h('h2', {}, 'Deployment ' + d.id), h('ol', { class: 'events small', id: 'events' },
        d.events.slice(-20).map((e) => h('li', {}, h('span', { class: 'muted' }, ago(e.at_ms) + ' '), e.message))));
    }
    root.append(h('h2', {}, 'History'), historyTable(view.deployments));
    if (d) G.refreshSoon(2000);
  };

  // Services per environment, each with its state; a form opens one by name.
  G.pages.services = async (root) => {
    root.append(h('h1', {}, 'Services'));
    const svc = h('input', { name: 'service', placeholder: 'service' });
    const env = h('input', { name: 'environment', placeholder: 'environment', value: 'production' });
    root.append(h('form', { class: 'panel row', id: 'open-service', onsubmit: (e) => {
      e.preventDefault();
      if (svc.value.trim()) location.hash = '#/services/' + enc(svc.value.trim()) + '/' + enc(env.value.trim());
    } }, 'Open', svc, env, h('button', { type: 'submit' }, 'Show')));
    const list = await knownServices();
    if (!list.length) return root.append(h('p', { class: 'muted' }, 'No services yet: deploy one (gantry deploy) or open it by name.'));
    const rows = [];
    for (const s of list) {
      const view = await load(s.service, s.environment);
      if (view.status.missing) continue;
      const d = view.active;
      rows.push(h('tr', { 'data-service': s.service + '/' + s.environment },
        h('td', {}, h('a', { href: '#/services/' + enc(s.service) + '/' + enc(s.environment) }, s.service)),
        h('td', {}, s.environment), h('td', {}, rev(view.status.stable_revision)),
        h('td', {}, d ? rev(d.revision) : ''), h('td', {}, badge(d ? d.state : 'stable')),
        h('td', {}, String((view.status.instances || []).filter((i) => i.health === 'healthy').length) + '/' +
          String((view.status.instances || []).length) + ' healthy')));
    }
    root.append(h('table', { id: 'services' },
      h('tr', {}, ['Service', 'Environment', 'Stable', 'New', 'State', 'Instances'].map((t) => h('th', {}, t))), rows));
  };

  // Deployments waiting for approval, across the known services.
  G.pages.approvals = async (root) => {
    root.append(h('h1', {}, 'Pending approvals'));
    const pending = [];
    for (const s of await knownServices()) {
      const view = await load(s.service, s.environment);
      if (view.active && view.active.state === 'waiting_approval') pending.push([s, view.active]);
    }
    // Jobs of runs waiting for a protected environment (decided on their run's page).
    const jobs = await G.optional(() => api('GET', '/approvals'), 'job approvals');
    for (const g of (jobs.pending || [])) {
      root.append(h('div', { class: 'panel', 'data-run-gate': g.run },
        h('a', { href: '#/runs/' + g.run }, g.project + ' #' + g.number + (g.title ? ' · ' + g.title : '')),
        h('div', {}, 'Job ' + g.job + ' · Waiting for approval (' + g.approved + '/' + g.required + ') — ' + g.environment)));
    }
    if (!pending.length && !(jobs.pending || []).length) {
      return root.append(h('p', { class: 'muted' }, 'Nothing is waiting for approval.'));
    }
    for (const [s, d] of pending) {
      root.append(h('div', {}, h('a', { href: '#/services/' + enc(s.service) + '/' + enc(s.environment) },
        s.service + ' · ' + s.environment), approvalBox(s.service, s.environment, d, () => G.route())));
    }
  };
})();
