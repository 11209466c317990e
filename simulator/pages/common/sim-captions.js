// The platforms' live captions (platforms.md 1.6, 3.6), rendered from the reference, not from what
// a bot reads: words arrive as the voice plays, a line is rewritten in place (an interim word then
// its correction, a late pass that sets case and punctuation), a speaker's consecutive turns may
// share one block, old blocks scroll away. The truth reports each utterance's final text once.
//
// cfg.captions (scenario): { available, refuse, shape, lag_ms, word_lag_ms, interim, late_fix_ms,
//   merge, keep_blocks }
//   shape (Meet): 'region'  div[role=region][tabindex=0] (current UI)
//                 'legacy'  div.a4cQT (older UI, no role)
//   shape (Teams): 'flat'   [data-tid=closed-caption-renderer-wrapper] > item > author + text
//                  'nested' the same three data-tids, author and text inside extra wrappers
(() => {
  const { h, epoch } = window.SimCore;

  // Misheard-then-fixed words of an interim hypothesis: shown first, corrected in place.
  const INTERIM = { colours: 'collars', review: 'view', quarter: 'order', budget: 'but yet', design: 'the sign' };

  const lowerBare = (text) => text.toLowerCase().replace(/[.,!?;:]/g, '');
  const rand = () => Math.random().toString(36).slice(2, 7);

  class Captions {
    constructor({ platform, cfg, report }) {
      this.platform = platform;
      this.cfg = { available: true, refuse: false, shape: platform === 'teams' ? 'flat' : 'region',
        lag_ms: 500, word_lag_ms: 250, interim: true, late_fix_ms: 600, merge: true, keep_blocks: 3, ...(cfg || {}) };
      this.report = report;
      this.on = false;
      this.root = null;
      this.blocks = [];          // { speaker, el, textEl, parts: [text of each turn] }
      this.pending = [];
    }
    get available() { return this.cfg.available !== false; }

    // The element the page puts where its captions show; hidden until turned on.
    mount() {
      if (this.platform === 'meet') {
        const attrs = this.cfg.shape === 'legacy'
          ? { class: 'a4cQT captions sim-gone', jsname: 'dsyhDe' }
          : { class: 'captions sim-gone', role: 'region', tabindex: '0', 'aria-label': 'Captions' };
        this.root = h('div', attrs);
        // Its last child is always the "Jump to bottom" button (the blocks go before it).
        this.jump = h('button', { class: 'jump-bottom', 'aria-label': 'Jump to bottom' }, h('i', { class: 'google-symbols', text: 'arrow_downward' }));
        this.root.append(this.jump);
      } else {
        this.root = h('div', { class: `cc-${rand()} captions sim-gone`, 'data-tid': 'closed-caption-renderer-wrapper' });
        this.list = this.cfg.shape === 'nested' ? h('div', { class: `fui-${rand()}`, role: 'log' }) : this.root;
        if (this.list !== this.root) this.root.append(h('div', { class: `v-${rand()}` }, this.list));
      }
      return this.root;
    }

    // The user's toggle; returns whether captions are now on. Refused: they flash on and go off.
    toggle() {
      if (!this.available) return false;
      if (this.cfg.refuse) {
        this.report('captions_refused', {});
        return false;
      }
      this.on = !this.on;
      this.root.classList.toggle('sim-gone', !this.on);
      this.report('captions_toggled', { on: this.on });
      return this.on;
    }

    // A segment of someone's voice started playing (seg: speaker, text, duration, index).
    segStart(seg) {
      if (!this.on || !seg.text) return;
      const words = seg.text.split(/\s+/).filter(Boolean);
      const startP = performance.now();
      const dur = (seg.duration || 1) * 1000;
      const entry = { seg, words, shown: 0, block: null, part: -1 };
      const at = (i) => this.cfg.lag_ms + (i / Math.max(1, words.length)) * dur + this.cfg.word_lag_ms;
      words.forEach((_, i) => setTimeout(() => this.grow(entry, i + 1), Math.max(0, at(i) - (performance.now() - startP))));
      // The last pass: case and punctuation set, interim words fixed, after the voice ended.
      setTimeout(() => this.finish(entry), this.cfg.lag_ms + dur + this.cfg.word_lag_ms + this.cfg.late_fix_ms);
    }

    blockFor(entry) {
      const last = this.blocks[this.blocks.length - 1];
      if (this.cfg.merge && last && last.speaker === entry.seg.speaker && last.el.isConnected) return last;
      const block = this.platform === 'meet' ? this.meetBlock(entry.seg.speaker) : this.teamsBlock(entry.seg.speaker);
      this.blocks.push(block);
      while (this.blocks.length > this.cfg.keep_blocks) {
        const gone = this.blocks.shift();
        gone.el.remove();  // scrolled out of the region
      }
      return block;
    }
    // childNodes[0] the name, childNodes[1].lastChild the text (reference 1.6).
    meetBlock(speaker) {
      const textEl = h('span', { class: 'ygicle' });
      const el = h('div', { class: 'nMcdL bj4p3b' },
        h('div', { class: 'adE6rb' }, h('img', { class: 'Z6byG', alt: '' }), h('span', { class: 'NWpY1d', text: speaker })),
        h('div', { class: 'bh44bd VbkSUe' }, textEl));
      this.root.insertBefore(el, this.jump);
      return { speaker, el, textEl, parts: [] };
    }
    // [data-tid=author] + [data-tid=closed-caption-text] per entry (reference 3.6).
    teamsBlock(speaker) {
      const author = h('span', { class: `a-${rand()}`, 'data-tid': 'author', text: speaker });
      const textEl = h('span', { class: `t-${rand()}`, 'data-tid': 'closed-caption-text' });
      const body = this.cfg.shape === 'nested'
        ? h('div', { class: `m-${rand()}` }, h('div', { class: `hd-${rand()}` }, author), h('div', { class: `bd-${rand()}` }, textEl))
        : h('div', { class: `m-${rand()}` }, author, textEl);
      const el = h('div', { class: 'ui-chat__item' }, body);
      this.list.append(el);
      return { speaker, el, textEl, parts: [] };
    }

    grow(entry, n) {
      if (!this.on) return;
      if (!entry.block || !entry.block.el.isConnected) {
        entry.block = this.blockFor(entry);
        entry.part = entry.block.parts.length;
        entry.block.parts.push('');
      }
      entry.shown = Math.max(entry.shown, n);
      // Interim: lower case, no punctuation, a word misheard until the next word comes.
      const words = entry.words.slice(0, entry.shown).map((w, i) => {
        const bare = lowerBare(w);
        return this.cfg.interim && i === entry.shown - 1 && INTERIM[bare] ? INTERIM[bare] : bare;
      });
      entry.block.parts[entry.part] = words.join(' ');
      this.render(entry.block);
    }

    finish(entry) {
      if (!this.on) return;
      if (!entry.block || !entry.block.el.isConnected) {
        if (entry.block) this.report('caption_final', { index: entry.seg.index, speaker: entry.seg.speaker, text: entry.seg.text, scrolled: true });
        return;
      }
      entry.block.parts[entry.part] = entry.seg.text;
      this.render(entry.block);
      this.report('caption_final', { index: entry.seg.index, speaker: entry.seg.speaker, text: entry.seg.text });
    }

    // The text node is rewritten in place, as the platforms do; turns in one block run on.
    render(block) {
      block.textEl.textContent = block.parts.filter(Boolean).join(' ');
    }
  }

  window.SimCaptions = Captions;
})();
