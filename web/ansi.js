// ANSI SGR colours in log lines to spans with classes (never HTML): bold, dim, italic,
// underline, the 8 + 8 bright foreground and background colours; other escapes are dropped.
'use strict';
(function () {
  const { h } = window.Gantry;
  const ESC = /\x1b\[([0-9;]*)([A-Za-z])/g;

  function ansiToNodes(text) {
    const nodes = [];
    let state = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false };
    let last = 0;
    const push = (s) => {
      if (!s) return;
      const cls = [];
      if (state.fg !== null) cls.push('fg-' + state.fg);
      if (state.bg !== null) cls.push('bg-' + state.bg);
      if (state.bold) cls.push('ansi-bold');
      if (state.dim) cls.push('ansi-dim');
      if (state.italic) cls.push('ansi-italic');
      if (state.underline) cls.push('ansi-underline');
      nodes.push(cls.length ? h('span', { class: cls.join(' ') }, s) : document.createTextNode(s));
    };
    ESC.lastIndex = 0;
    let m;
    while ((m = ESC.exec(text)) !== null) {
      push(text.slice(last, m.index));
      last = ESC.lastIndex;
      if (m[2] !== 'm') continue;
      const codes = m[1] === '' ? [0] : m[1].split(';').map(Number);
      for (const c of codes) {
        if (c === 0) state = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false };
        else if (c === 1) state.bold = true;
        else if (c === 2) state.dim = true;
        else if (c === 3) state.italic = true;
        else if (c === 4) state.underline = true;
        else if (c === 22) { state.bold = false; state.dim = false; }
        else if (c >= 30 && c <= 37) state.fg = c - 30;
        else if (c >= 90 && c <= 97) state.fg = c - 90;
        else if (c === 39) state.fg = null;
        else if (c >= 40 && c <= 47) state.bg = c - 40;
        else if (c >= 100 && c <= 107) state.bg = c - 100;
        else if (c === 49) state.bg = null;
      }
    }
    push(text.slice(last));
    return nodes;
  }

  function stripAnsi(text) { return text.replace(ESC, ''); }

  Object.assign(window.Gantry, { ansiToNodes, stripAnsi });
})();
