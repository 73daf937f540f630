// A small Markdown renderer for step summaries ($GITHUB_STEP_SUMMARY): headings, paragraphs,
// lists, fenced code, tables, emphasis, inline code and links. It builds DOM nodes from text,
// so no HTML in a summary is ever interpreted; link targets are limited to http(s) and #.
'use strict';
(function () {
  const { h } = window.Gantry;

  function inline(text) {
    const out = [];
    const re = /(`[^`]+`)|(\*\*[^*]+\*\*)|(\*[^*]+\*|_[^_]+_)|(\[[^\]]+\]\([^)\s]+\))/g;
    let last = 0, m;
    while ((m = re.exec(text)) !== null) {
      if (m.index > last) out.push(text.slice(last, m.index));
      const t = m[0];
      if (m[1]) out.push(h('code', {}, t.slice(1, -1)));
      else if (m[2]) out.push(h('strong', {}, t.slice(2, -2)));
      else if (m[3]) out.push(h('em', {}, t.slice(1, -1)));
      else {
        const label = t.slice(1, t.indexOf(']'));
        const href = t.slice(t.indexOf('](') + 2, -1);
        out.push(/^(https?:\/\/|#)/.test(href) ? h('a', { href, rel: 'noopener noreferrer' }, label) : label);
      }
      last = re.lastIndex;
    }
    if (last < text.length) out.push(text.slice(last));
    return out;
  }

  function renderMarkdown(src) {
    const root = h('div', { class: 'md' });
    const lines = String(src).replace(/\r\n/g, '\n').split('\n');
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      if (/^```/.test(line)) {
        const code = [];
        for (i++; i < lines.length && !/^```/.test(lines[i]); i++) code.push(lines[i]);
        i++;
        root.append(h('pre', {}, h('code', {}, code.join('\n'))));
        continue;
      }
      const hm = /^(#{1,6})\s+(.*)$/.exec(line);
      if (hm) { root.append(h('h' + Math.min(6, hm[1].length + 1), {}, inline(hm[2]))); i++; continue; }
      if (/^\s*\|.*\|\s*$/.test(line) && i + 1 < lines.length && /^\s*\|[\s:|-]+\|\s*$/.test(lines[i + 1])) {
        const cells = (l) => l.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim());
        const table = h('table', {}, h('tr', {}, cells(line).map((c) => h('th', {}, inline(c)))));
        for (i += 2; i < lines.length && /^\s*\|.*\|\s*$/.test(lines[i]); i++) {
          table.append(h('tr', {}, cells(lines[i]).map((c) => h('td', {}, inline(c)))));
        }
        root.append(table);
        continue;
      }
      if (/^\s*([-*+]|\d+\.)\s+/.test(line)) {
        const ordered = /^\s*\d+\./.test(line);
        const list = h(ordered ? 'ol' : 'ul');
        for (; i < lines.length && /^\s*([-*+]|\d+\.)\s+/.test(lines[i]); i++) {
          list.append(h('li', {}, inline(lines[i].replace(/^\s*([-*+]|\d+\.)\s+/, ''))));
        }
        root.append(list);
        continue;
      }
      if (line.trim() === '') { i++; continue; }
      const para = [];
      for (; i < lines.length && lines[i].trim() !== '' && !/^(#|```|\s*[-*+]\s|\s*\|)/.test(lines[i]); i++) {
        para.push(lines[i]);
      }
      if (para.length === 0) { para.push(line); i++; }
      root.append(h('p', {}, inline(para.join(' '))));
    }
    return root;
  }

  Object.assign(window.Gantry, { renderMarkdown });
})();
