// A virtualised log view: only the lines in the viewport are in the DOM, so a job with
// 100,000 lines scrolls like one with ten. Groups (::group:: / ::endgroup::) are folded,
// search highlights and jumps, every line number is a link, new lines stream in at the end.
'use strict';
(function () {
  const { h, clear, ansiToNodes, stripAnsi } = window.Gantry;
  const LINE = 18;

  class LogView {
    constructor({ linkFor, onStepStart } = {}) {
      this.lines = [];          // {seq, step, text, group: 'start'|'end'|null, parent: index of group start}
      this.folded = new Set();  // indexes of group starts that are folded
      this.visible = [];        // indexes into lines
      this.query = '';
      this.hits = [];
      this.hitPos = -1;
      this.target = null;       // seq to highlight
      this.linkFor = linkFor || (() => '#');
      this.onStepStart = onStepStart;
      this.openGroup = -1;
      this.follow = true;
      this.el = h('div', { class: 'log', tabindex: '0' });
      this.spacer = h('div', { class: 'spacer' });
      this.el.append(this.spacer);
      this.el.addEventListener('scroll', () => {
        this.follow = this.el.scrollTop + this.el.clientHeight >= this.el.scrollHeight - LINE * 2;
        this.render();
      });
    }

    // Appends lines ({seq, step, text}) in order.
    append(batch) {
      const wasAtEnd = this.follow;
      for (const l of batch) {
        const i = this.lines.length;
        const line = { seq: l.seq, step: l.step, text: l.text, group: null, parent: this.openGroup };
        if (l.text.startsWith('::group::') || l.text.startsWith('##[group]')) {
          line.group = 'start';
          line.title = l.text.replace(/^(::group::|##\[group\])/, '');
          line.parent = -1;
          this.openGroup = i;
          this.folded.add(i);
        } else if (l.text === '::endgroup::' || l.text === '##[endgroup]') {
          line.group = 'end';
          line.parent = this.openGroup;
          this.openGroup = -1;
        }
        this.lines.push(line);
        if (this.isVisible(i)) this.visible.push(i);
        if (this.query && this.matches(line)) this.hits.push(i);
      }
      this.spacer.style.height = this.visible.length * LINE + 'px';
      if (wasAtEnd && this.target === null) this.el.scrollTop = this.el.scrollHeight;
      this.render();
    }

    isVisible(i) {
      const l = this.lines[i];
      if (l.group === 'end') return false;
      return l.parent < 0 || !this.folded.has(l.parent);
    }

    matches(line) {
      return stripAnsi(line.group === 'start' ? line.title : line.text).toLowerCase().includes(this.query);
    }

    relayout() {
      this.visible = [];
      for (let i = 0; i < this.lines.length; i++) if (this.isVisible(i)) this.visible.push(i);
      this.spacer.style.height = this.visible.length * LINE + 'px';
      this.render();
    }

    toggle(i) {
      if (this.folded.has(i)) this.folded.delete(i); else this.folded.add(i);
      this.relayout();
    }

    search(q) {
      this.query = q.trim().toLowerCase();
      this.hits = [];
      this.hitPos = -1;
      if (this.query) {
        for (let i = 0; i < this.lines.length; i++) if (this.matches(this.lines[i])) this.hits.push(i);
      }
      this.render();
      return this.hits.length;
    }

    nextHit() {
      if (!this.hits.length) return;
      this.hitPos = (this.hitPos + 1) % this.hits.length;
      this.reveal(this.hits[this.hitPos]);
    }

    // Unfolds the line's group and scrolls it into the middle of the view.
    reveal(i) {
      const l = this.lines[i];
      if (l && l.parent >= 0 && this.folded.has(l.parent)) { this.folded.delete(l.parent); this.relayout(); }
      const pos = this.visible.indexOf(i);
      if (pos >= 0) {
        this.follow = false;
        this.el.scrollTop = Math.max(0, pos * LINE - this.el.clientHeight / 2);
      }
      this.render();
    }

    revealSeq(seq) {
      this.target = seq;
      const i = this.lines.findIndex((l) => l.seq === seq);
      if (i >= 0) this.reveal(i);
    }

    revealStep(step) {
      const i = this.lines.findIndex((l) => l.step === step);
      if (i >= 0) this.reveal(i);
    }

    render() {
      const first = Math.max(0, Math.floor(this.el.scrollTop / LINE) - 10);
      const count = Math.ceil((this.el.clientHeight || 600) / LINE) + 20;
      const hitSet = this.query ? new Set(this.hits) : null;
      clear(this.spacer);
      for (let p = first; p < Math.min(this.visible.length, first + count); p++) {
        const i = this.visible[p];
        const l = this.lines[i];
        let cls = 'line';
        if (hitSet && hitSet.has(i)) cls += ' hit';
        if (this.target !== null && l.seq === this.target) cls += ' target';
        const num = h('a', { class: 'n', href: this.linkFor(l.seq) }, String(l.seq));
        let body;
        if (l.group === 'start') {
          body = h('span', { class: 'group', onclick: () => this.toggle(i) },
                   (this.folded.has(i) ? '▶ ' : '▼ ') + l.title);
        } else {
          body = h('span', {}, ansiToNodes(l.text));
        }
        this.spacer.append(h('div', { class: cls, style: 'top:' + p * LINE + 'px', 'data-seq': l.seq }, num, body));
      }
    }
  }

  Object.assign(window.Gantry, { LogView });
})();
