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

  function runRow(r) {
    return h('tr', { 'data-run': r.id },
      h('td', {}, h('a', { href: '#/runs/' + r.id }, r.project + ' #' + r.number)),
      h('td', {}, r.workflow_name || r.workflow),
      h('td', {}, badge(runState(r))),
      h('td', {}, r.event),
      h('td', { class: 'mono' }, shortRef(r.ref)),
      h('td', { class: 'mono' }, (r.sha || '').slice(0, 8)),
      h('td', {}, r.message || ''),
      h('td', {}, duration(r.started_ms, r.finished_ms)),
      h('td', { class: 'muted' }, ago(r.created_ms)));
  }

  // Runs, optionally of one project, with a status filter, paging and a trigger form.
  G.pages.runs = async (root, params) => {
    const project = params.project || '';
    const status = params.q.get('status') || '';
    const before = params.q.get('before') || '';
    let path = '/runs?limit=50';
    if (project) path += '&project=' + encodeURIComponent(project);
    if (status) path += '&status=' + encodeURIComponent(status);
    if (before) path += '&before=' + encodeURIComponent(before);
    const data = await api('GET', path);
    const base = project ? '#/projects/' + encodeURIComponent(project) : '#/runs';
    const filter = h('select', { onchange: (e) => { location.hash = base + (e.target.value ? '?status=' + e.target.value : ''); } },
      ['', 'queued', 'in_progress', 'completed'].map((s) => h('option', { value: s, selected: s === status }, s || 'any status')));
    const header = h('div', { class: 'row' }, h('h1', { style: 'flex:1' }, project ? project : 'All runs'), filter);
    root.append(header);
    if (project) root.append(triggerForm(project));
    const rows = data.runs.map(runRow);
    root.append(rows.length
      ? h('table', { id: 'runs' }, h('tr', {}, ['Run', 'Workflow', 'Status', 'Trigger', 'Branch', 'Commit', 'Message', 'Duration', 'Created'].map((t) => h('th', {}, t))), rows)
      : h('p', { class: 'muted' }, 'No runs yet.'));
    if (data.next_before) {
      root.append(h('p', {}, h('a', { href: base + '?before=' + data.next_before + (status ? '&status=' + status : '') }, 'Older runs →')));
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
