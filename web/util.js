// DOM and API helpers. Everything the page shows from the server goes through text nodes
// (h() never sets innerHTML), so log lines, commit messages and branch names stay text.
'use strict';

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'style') el.style.cssText = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// Calls the REST API with the session cookie; mutating calls carry the CSRF header that a
// cross-site form cannot send.
async function api(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: { 'X-Gantry-CSRF': '1' } };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const res = await fetch('/api/v1' + path, opts);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = { error: text }; }
  if (res.status === 401 && !path.startsWith('/session')) { location.hash = '#/login'; }
  if (!res.ok) throw new ApiError(res.status, (data && data.error) || res.statusText);
  return data;
}

function badge(state) {
  const s = state || 'unknown';
  return h('span', { class: 'badge s-' + s.replace(/[^A-Za-z_]/g, '_') }, s);
}

// A run with a job waiting for approvals shows as `waiting`, as on GitHub.
function runState(r) {
  if (r.status === 'running' && r.waiting_for && r.waiting_for.length) return 'waiting';
  return r.status === 'completed' ? (r.conclusion || 'completed') : r.status;
}

function duration(startMs, endMs) {
  if (!startMs) return '';
  const ms = (endMs || Date.now()) - startMs;
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
  return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
}

function ago(ms) {
  if (!ms) return '';
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 60) return s + 's ago';
  if (s < 3600) return Math.floor(s / 60) + 'm ago';
  if (s < 86400) return Math.floor(s / 3600) + 'h ago';
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

function shortRef(ref) { return (ref || '').replace(/^refs\/(heads|tags)\//, ''); }

function errorBox(e) { return h('p', { class: 'error' }, String(e && e.message ? e.message : e)); }

// A section that shows a clear note when this server has no such API (404) instead of failing.
async function optional(loader, what) {
  try { return await loader(); } catch (e) {
    if (e.status === 404) return { missing: 'This server has no ' + what + ' yet.' };
    throw e;
  }
}

window.Gantry = { h, append, clear, api, ApiError, badge, runState, duration, ago, shortRef, errorBox, optional };
