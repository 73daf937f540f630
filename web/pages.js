// Pages: login, projects, runs of a project (or of all projects).
'use strict';
(function () {
  const G = window.Gantry;
  const { h, api, badge, runState, duration, ago, shortRef, errorBox } = G;

  G.pages = G.pages || {};

  G.pages.login = async (root) => {
    const input = h('input', { type: 'password', placeholder: 'API token', style: 'width:100%', autocomplete: 'off' });
    const msg = h('p', { class: 'error' });
    const submit = async (ev) => {
      ev.preventDefault();
      try {
        await api('POST', '/session', { token: input.value.trim() });
        location.hash = '#/';
      } catch (e) { msg.textContent = e.message; }
    };
    root.append(h('form', { class: 'panel login', onsubmit: submit },
      h('h1', {}, 'Sign in to Gantry'),
      h('p', { class: 'muted' }, 'Paste an API token (gantry server prints the first admin token when it starts).'),
      input, h('p', {}, h('button', { class: 'primary', type: 'submit' }, 'Sign in')), msg));
    input.focus();
  };

  G.pages.projects = async (root) => {
    const data = await api('GET', '/projects');
    const rows = data.projects.map((p) => h('tr', {},
      h('td', {}, h('a', { href: '#/projects/' + encodeURIComponent(p.name) }, p.name)),
      h('td', { class: 'mono muted' }, p.git_url),
      h('td', { class: 'muted' }, ago(p.created_ms))));
    root.append(h('h1', {}, 'Projects'),
      rows.length ? h('table', {}, h('tr', {}, h('th', {}, 'Project'), h('th', {}, 'Git URL'), h('th', {}, 'Created')), rows)
                  : h('p', { class: 'muted' }, 'No projects yet: gantry project create NAME, then git push to its URL.'));
  };

  // A run's title is its commit message's first line (GitHub's "run name"); runs stored
  // before titles existed, or of a commit without a message, fall back to the workflow name.
  G.runTitle = (r) => r.title || r.workflow_name || r.workflow;

  function runRow(r) {
    return h('tr', { 'data-run': r.id },
      h('td', {}, h('a', { class: 'run-title', href: '#/runs/' + r.id }, G.runTitle(r)),
        h('div', { class: 'muted small' }, r.project + ' #' + r.number + ' · ' + (r.workflow_name || r.workflow) +
          (r.author ? ' · ' + r.author : ''))),
      h('td', {}, badge(runState(r))),
      h('td', {}, r.event),
      h('td', { class: 'mono run-branch' }, shortRef(r.ref)),
      h('td', { class: 'mono' }, r.short_sha || (r.sha || '').slice(0, 7)),
      h('td', {}, duration(r.started_ms, r.finished_ms)),
      h('td', { class: 'muted' }, ago(r.created_ms)));
  }

  // Runs, optionally of one project, filtered by status, branch and workflow (kept in the
  // URL so a filtered list can be linked), paged, with a trigger form.
  G.pages.runs = async (root, params) => {
    const project = params.project || '';
    const filters = {};
    for (const k of ['status', 'branch', 'workflow']) if (params.q.get(k)) filters[k] = params.q.get(k);
    const before = params.q.get('before') || '';
    const qs = (extra) => {
      const q = new URLSearchParams(Object.assign({}, filters, extra || {}));
      const s = q.toString();
      return s ? '?' + s : '';
    };
    let path = '/runs' + qs({ limit: 50 });
    if (project) path += '&project=' + encodeURIComponent(project);
    if (before) path += '&before=' + encodeURIComponent(before);
    const data = await api('GET', path);
    const base = project ? '#/projects/' + encodeURIComponent(project) : '#/runs';
    const go = () => { location.hash = base + qs(); };
    const status = h('select', { name: 'status', onchange: (e) => { filters.status = e.target.value; go(); } },
      ['', 'queued', 'running', 'completed'].map((s) => h('option', { value: s, selected: s === (filters.status || '') }, s || 'any status')));
    const text = (name, placeholder) => h('input', {
      name, placeholder, value: filters[name] || '', size: 14,
      onchange: (e) => { filters[name] = e.target.value.trim(); if (!filters[name]) delete filters[name]; go(); } });
    const header = h('div', { class: 'row', id: 'run-filters' }, h('h1', { style: 'flex:1' }, project ? project : 'All runs'),
      status, text('branch', 'branch'), text('workflow', 'workflow'));
    root.append(header);
    if (project && (G.role === 'operator' || G.role === 'admin')) root.append(triggerForm(project));
    const rows = data.runs.map(runRow);
    root.append(rows.length
      ? h('table', { id: 'runs' }, h('tr', {}, ['Run', 'Status', 'Trigger', 'Branch', 'Commit', 'Duration', 'Created'].map((t) => h('th', {}, t))), rows)
      : h('p', { class: 'muted', id: 'no-runs' }, Object.keys(filters).length ? 'No runs match these filters.' : 'No runs yet.'));
    if (data.next_before) {
      root.append(h('p', {}, h('a', { href: base + qs({ before: data.next_before }) }, 'Older runs →')));
    }
    // Refresh while something is queued or running.
    if (data.runs.some((r) => r.status !== 'completed')) G.refreshSoon(3000);
  };

  function triggerForm(project) {
    const wf = h('input', { placeholder: 'workflow file (e.g. ci.yml)', name: 'workflow' });
    const ref = h('input', { placeholder: 'branch', value: 'main', name: 'ref' });
    const inputs = h('input', { placeholder: 'inputs: key=value, key2=value2', name: 'inputs', style: 'min-width:260px' });
    const msg = h('span', { class: 'error' });
    const go = async (ev) => {
      ev.preventDefault();
      const kv = {};
      for (const part of inputs.value.split(',')) {
        const eq = part.indexOf('=');
        if (eq > 0) kv[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
      }
      try {
        const r = await api('POST', '/projects/' + encodeURIComponent(project) + '/trigger',
                            { workflow: wf.value.trim(), ref: ref.value.trim(), inputs: kv });
        location.hash = r && r.id ? '#/runs/' + r.id : location.hash;
        G.route();
      } catch (e) { msg.textContent = e.message; }
    };
    return h('form', { class: 'panel row', onsubmit: go, id: 'trigger' }, h('strong', {}, 'Run workflow'), wf, ref, inputs,
             h('button', { class: 'primary', type: 'submit' }, 'Trigger'), msg);
  }
})();
