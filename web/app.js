// The router: #/login, #/ (projects), #/projects/NAME, #/runs, #/runs/ID, #/services,
// #/services/S/E, #/approvals, #/alarms, #/metrics. Each page renders into <main>; leaving a page closes its
// live streams.
'use strict';
(function () {
  const G = window.Gantry;
  const { h, api, clear, errorBox } = G;
  let leaveHooks = [];
  let refreshTimer = null;

  G.onLeave = (fn) => leaveHooks.push(fn);
  // A part of a page that may fail on its own (an older server, a missing permission):
  // its error is logged and the page shows the rest. `what` names it in the console.
  G.optional = async (fn, what) => {
    try { return await fn(); } catch (e) { console.warn('could not load ' + what + ':', e); return {}; }
  };
  G.refreshSoon = (ms) => { clearTimeout(refreshTimer); refreshTimer = setTimeout(() => G.route(), ms); };

  const routes = [
    [/^\/login$/, (m) => ['login', {}]],
    [/^\/?$/, (m) => ['projects', {}]],
    [/^\/projects\/([^/]+)$/, (m) => ['runs', { project: decodeURIComponent(m[1]) }]],
    [/^\/runs$/, (m) => ['runs', {}]],
    [/^\/runs\/(\d+)$/, (m) => ['run', { id: m[1] }]],
    [/^\/services$/, (m) => ['services', {}]],
    [/^\/services\/([^/]+)\/([^/]+)$/, (m) => ['service', { service: decodeURIComponent(m[1]), environment: decodeURIComponent(m[2]) }]],
    [/^\/approvals$/, (m) => ['approvals', {}]],
    [/^\/alarms$/, (m) => ['alarms', {}]],
    [/^\/metrics$/, (m) => ['metrics', {}]],
  ];

  async function whoami() {
    try {
      const s = await api('GET', '/session');
      G.role = s.role;
      G.name = s.name;
      clear(document.getElementById('who')).append(s.name + ' (' + s.role + ') ',
        h('button', { onclick: async () => { await api('DELETE', '/session'); G.role = null; location.hash = '#/login'; } }, 'Sign out'));
      return true;
    } catch (e) { return false; }
  }

  G.route = async function route() {
    for (const fn of leaveHooks) fn();
    leaveHooks = [];
    clearTimeout(refreshTimer);
    const hash = location.hash.replace(/^#/, '') || '/';
    const [path, query] = hash.split('?');
    const root = clear(document.getElementById('app'));
    let page = null, params = {};
    for (const [re, f] of routes) {
      const m = re.exec(path);
      if (m) { [page, params] = f(m); break; }
    }
    params.q = new URLSearchParams(query || '');
    if (!page) { root.append(h('p', {}, 'No such page.')); return; }
    if (page !== 'login' && !G.role && !(await whoami())) { location.hash = '#/login'; return; }
    try {
      await G.pages[page](root, params);
    } catch (e) {
      if (e.status !== 401) root.append(errorBox(e));
    }
  };

  window.addEventListener('hashchange', () => G.route());
  G.route();
})();
