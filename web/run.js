// The run page: header with actions, the job graph (needs-DAG with matrix jobs grouped),
// steps of the selected job, its live log (Server-Sent Events), annotations, step summaries.
'use strict';
(function () {
  const G = window.Gantry;
  const { h, api, badge, runState, duration, shortRef, clear, LogView, renderMarkdown } = G;

  function levels(jobs) {
    // Columns by needs-depth; jobs without `needs` information all sit in one column.
    const byKey = new Map();
    for (const j of jobs) {
      if (!byKey.has(j.key)) byKey.set(j.key, []);
      byKey.get(j.key).push(j);
    }
    const depth = new Map();
    const needsOf = (key) => (byKey.get(key)[0].needs || []).filter((n) => byKey.has(n));
    const visit = (key, seen) => {
      if (depth.has(key)) return depth.get(key);
      if (seen.has(key)) return 0;
      seen.add(key);
      const d = Math.max(-1, ...needsOf(key).map((n) => visit(n, seen))) + 1;
      depth.set(key, d);
      return d;
    };
    for (const key of byKey.keys()) visit(key, new Set());
    const cols = [];
    for (const [key, group] of byKey) {
      const d = depth.get(key);
      (cols[d] = cols[d] || []).push({ key, group });
    }
    return cols.filter(Boolean);
  }

  function matrixLabel(m) {
    if (!m || typeof m !== 'object') return '';
    return Object.entries(m).map(([k, v]) => k + ': ' + (typeof v === 'object' ? JSON.stringify(v) : v)).join(', ');
  }

  G.pages.run = async (root, params) => {
    const id = params.id;
    let run = await api('GET', '/runs/' + id);
    let selected = Number(params.q.get('job')) || (run.jobs[0] && run.jobs[0].id);
    const targetLine = params.q.get('line') ? Number(params.q.get('line')) : null;

    const head = h('div', { class: 'panel' });
    const graph = h('div', { class: 'graph', id: 'graph' });
    const stepsBox = h('div', { class: 'steps', id: 'steps' });
    const search = h('input', { placeholder: 'Search log (Enter: next)', id: 'log-search' });
    const hitCount = h('span', { class: 'muted' });
    const annotations = h('div', { id: 'annotations' });
    const summaries = h('div', { id: 'summaries' });
    const logs = new Map();  // job id -> LogView
    const logBox = h('div', { id: 'log' });

    const viewFor = (jobId) => {
      if (!logs.has(jobId)) {
        logs.set(jobId, new LogView({ linkFor: (seq) => '#/runs/' + id + '?job=' + jobId + '&line=' + seq }));
      }
      return logs.get(jobId);
    };

    const renderHead = () => {
      clear(head);
      const canAct = G.role === 'operator' || G.role === 'admin';
      head.append(h('div', { class: 'row' },
        h('div', { style: 'flex:1' }, h('h1', { style: 'margin:0', id: 'run-title' }, G.runTitle(run)),
          h('div', { class: 'muted' }, run.project + ' #' + run.number + ' · ' + (run.workflow_name || run.workflow))),
        h('span', { id: 'run-status' }, badge(runState(run))),
        canAct && run.status !== 'completed' ? h('button', { class: 'danger', id: 'cancel', onclick: () => act('cancel') }, 'Cancel') : null,
        canAct && run.status === 'completed' ? h('button', { id: 'rerun', onclick: () => act('rerun') }, 'Re-run all jobs') : null,
        canAct && run.status === 'completed' && run.conclusion === 'failure'
          ? h('button', { id: 'rerun-failed', onclick: () => act('rerun', { failed_only: true }) }, 'Re-run failed jobs') : null),
        h('p', { class: 'muted' },
          'Trigger ', h('strong', {}, run.event), ' · branch ', h('span', { class: 'mono', id: 'run-ref' }, shortRef(run.ref)),
          ' · commit ', h('span', { class: 'mono', id: 'run-sha', title: run.sha }, run.short_sha || (run.sha || '').slice(0, 7)),
          run.author ? [' by ', h('span', { id: 'run-author' }, run.author)] : null,
          run.message ? [' · ', h('span', { id: 'run-message' }, run.message)] : null,
          ' · ', duration(run.started_ms, run.finished_ms)));
    };

    const act = async (what, body) => {
      try { await api('POST', '/runs/' + id + '/' + what, body || {}); } catch (e) { alert(e.message); }
      run = await api('GET', '/runs/' + id);
      renderAll();
    };

    // A job held by a protected environment: "Waiting for approval (0/2) — production", with
    // Approve / Reject for operators (a decision applies to every job waiting for it).
    const decide = async (environment, approve) => {
      try { await api('POST', '/runs/' + id + '/approvals', { environment, approve }); } catch (e) { alert(e.message); }
      run = await api('GET', '/runs/' + id);
      renderAll();
    };
    const gate = (j) => {
      const a = j.approval;
      if (j.status !== 'waiting' || !a) return null;
      const canAct = G.role === 'operator' || G.role === 'admin';
      const stop = (fn) => (e) => { e.stopPropagation(); fn(); };
      return h('div', { class: 'gate', 'data-gate': a.environment },
        h('div', { class: 'gate-text' }, 'Waiting for approval (' + a.approved + '/' + a.required + ') — ' + a.environment),
        canAct ? h('div', { class: 'row' },
          h('button', { class: 'approve', onclick: stop(() => decide(a.environment, true)) }, 'Approve'),
          h('button', { class: 'danger reject', onclick: stop(() => decide(a.environment, false)) }, 'Reject')) : null);
    };

    const renderGraph = () => {
      clear(graph);
      for (const col of levels(run.jobs)) {
        const c = h('div', { class: 'col' });
        for (const { key, group } of col) {
          const card = h('div', { class: 'job' + (group.some((j) => j.id === selected) ? ' selected' : ''), 'data-job': key });
          if (group.length === 1 && !matrixLabel(group[0].matrix)) {
            const j = group[0];
            card.append(h('div', { class: 'row', onclick: () => select(j.id) }, badge(runState(j)), h('span', { class: 'name' }, j.name)));
            G.append(card, [gate(j)]);
          } else {
            card.append(h('div', { class: 'name' }, key + ' (' + group.length + ')'));
            card.append(h('div', { class: 'matrix' }, group.map((j) =>
              [h('div', { class: 'row', onclick: () => select(j.id) }, badge(runState(j)), h('span', {}, matrixLabel(j.matrix) || j.name)),
                gate(j)])));
          }
          c.append(card);
        }
        graph.append(c);
      }
    };

    const renderSteps = () => {
      clear(stepsBox);
      const job = run.jobs.find((j) => j.id === selected);
      if (!job) return;
      stepsBox.append(h('h2', {}, job.name));
      G.append(stepsBox, [gate(job)]);
      for (const s of job.steps) {
        stepsBox.append(h('div', { class: 'row', onclick: () => viewFor(selected).revealStep(s.number) },
          badge(runState(s)), h('span', {}, s.name)));
      }
      clear(summaries);
      for (const s of job.steps) {
        if (s.summary) summaries.append(h('div', { class: 'panel' }, h('h2', {}, 'Summary: ' + s.name), renderMarkdown(s.summary)));
      }
    };

    const renderAnnotations = () => {
      clear(annotations);
      if (!run.annotations || !run.annotations.length) return;
      annotations.append(h('div', { class: 'panel' }, h('h2', {}, 'Annotations'),
        run.annotations.map((a) => h('div', { class: 'ann-' + a.level },
          a.level + ': ', a.file ? h('span', { class: 'mono' }, a.file + (a.line ? ':' + a.line : '') + ' ') : null, a.message))));
    };

    const renderLog = () => {
      clear(logBox);
      if (selected) logBox.append(viewFor(selected).el);
      if (selected) viewFor(selected).render();
    };

    const select = (jobId) => {
      selected = jobId;
      history.replaceState(null, '', '#/runs/' + id + '?job=' + jobId);
      renderGraph(); renderSteps(); renderLog();
    };

    const renderAll = () => { renderHead(); renderGraph(); renderSteps(); renderAnnotations(); renderLog(); };

    search.addEventListener('input', () => {
      const n = selected ? viewFor(selected).search(search.value) : 0;
      hitCount.textContent = search.value ? n + ' matches' : '';
    });
    search.addEventListener('keydown', (e) => { if (e.key === 'Enter' && selected) viewFor(selected).nextHit(); });

    root.append(head, annotations, h('div', { class: 'panel' }, h('h2', {}, 'Jobs'), graph),
      h('div', { class: 'layout' }, stepsBox,
        h('div', {}, h('div', { class: 'row', style: 'margin-bottom:8px' }, search, hitCount), logBox, summaries)));
    renderAll();

    // History first (pages of stored lines), then live events.
    for (const j of run.jobs) {
      let after = 0;
      for (;;) {
        const page = await api('GET', '/runs/' + id + '/jobs/' + j.id + '/logs?after=' + after);
        if (!page.lines.length) break;
        viewFor(j.id).append(page.lines);
        after = page.lines[page.lines.length - 1].seq;
        if (page.lines.length < 10000) break;
      }
    }
    if (targetLine !== null && selected) viewFor(selected).revealSeq(targetLine);
    if (run.status === 'completed') return;
    const es = new EventSource('/api/v1/runs/' + id + '/events');
    G.onLeave(() => es.close());
    es.addEventListener('log', (ev) => {
      const l = JSON.parse(ev.data);
      const view = viewFor(l.job_id);
      const last = view.lines.length ? view.lines[view.lines.length - 1].seq : 0;
      if (l.seq > last) view.append([l]);
    });
    es.addEventListener('status', async () => {
      run = await api('GET', '/runs/' + id);
      renderHead(); renderGraph(); renderSteps(); renderAnnotations();
      if (run.status === 'completed') es.close();
    });
  };
})();
