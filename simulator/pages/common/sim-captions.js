// The platforms' live captions (platforms.md 1.6, 2.6, 3.6), rendered from the reference, not from
// what a bot reads: words arrive as the voice plays, a line is rewritten in place (an interim word then
// its correction, a late pass that sets case and punctuation), a speaker's consecutive turns may
// share one block, old blocks scroll away. The truth reports each utterance's final text once.
//
// cfg.captions (scenario): { available, refuse, shape, lag_ms, word_lag_ms, interim, late_fix_ms,
//   merge, keep_blocks }
//   shape (Meet): 'region'  div[role=region][tabindex=0] (current UI)
//                 'legacy'  div.a4cQT (older UI, no role)
//   shape (Teams): 'flat'   [data-tid=closed-caption-renderer-wrapper] > item > author + text
//                  'nested' the same three data-tids, author and text inside extra wrappers
//   shape (Zoom):  'overlay' a line per utterance in #live-transcription-subtitle
//                  'single'  one line, rewritten for each utterance (by whoever speaks)
//   Zoom's caption DOM is not in platforms.md (2.6 documents only how to turn captions on). What
//   several independent open-source Zoom caption readers agree on: an overlay
//   .live-transcription-subtitle__overlay-container holding #live-transcription-subtitle, a
//   .live-transcription-subtitle__box, the text in span.live-transcription-subtitle__item and the
//   speaker only as an avatar img.zmu-data-selector-item__icon: no name in the caption.
(() => {
  const { h, epoch } = window.SimCore;

  // Misheard-then-fixed words of an interim hypothesis: shown first, corrected in place.
  const INTERIM = { colours: 'collars', review: 'view', quarter: 'order', budget: 'but yet', design: 'the sign' };

  const lowerBare = (text) => text.toLowerCase().replace(/[.,!?;:]/g, '');
  const rand = () => Math.random().toString(36).slice(2, 7);
  // A speaker's avatar as Zoom's caption line shows it: an image, the same for each of their lines.
  const avatarOf = (name) => `data:image/svg+xml,${encodeURIComponent(`<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24"><circle cx="12" cy="12" r="12" fill="hsl(${[...name].reduce((a, c) => (a * 31 + c.charCodeAt(0)) % 360, 7)},60%,50%)"/></svg>`)}`;

  class Captions {
    constructor({ platform, cfg, report }) {
      this.platform = platform;
      this.cfg = { available: true, refuse: false, shape: { teams: 'flat', zoom: 'overlay' }[platform] || 'region',
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
      } else if (this.platform === 'zoom') {
        this.list = h('div', { class: 'live-transcription-subtitle__box' });
        this.root = h('div', { class: 'live-transcription-subtitle__overlay-container captions sim-gone', draggable: 'true' },
          h('div', { id: 'live-transcription-subtitle', class: 'live-transcription-subtitle' }, this.list),
          h('button', { type: 'button', class: 'zm-btn', 'aria-label': 'Caption Language', text: 'English' }));
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
      if (this.platform === 'zoom' && this.cfg.shape === 'single' && last) {
        // The one line is the next utterance's now: what the last one had not finished stays as it was.
        last.gen += 1;
        last.parts = [];
        last.speaker = entry.seg.speaker;
        last.avatar.setAttribute('src', avatarOf(entry.seg.speaker));
        return last;
      }
      const make = { meet: 'meetBlock', teams: 'teamsBlock', zoom: 'zoomBlock' }[this.platform];
      const block = this[make](entry.seg.speaker);
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
      return { speaker, el, textEl, parts: [], gen: 0 };
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
      return { speaker, el, textEl, parts: [], gen: 0 };
    }
    // The speaker only as an avatar (no name), the text beside it.
    zoomBlock(speaker) {
      const avatar = h('img', { class: 'zmu-data-selector-item__icon', src: avatarOf(speaker), alt: '' });
      const textEl = h('span', { class: 'live-transcription-subtitle__item' });
      const el = h('div', { class: 'lt-subtitle-wrap' }, avatar, textEl);
      this.list.append(el);
      return { speaker, el, textEl, avatar, parts: [], gen: 0 };
    }

    grow(entry, n) {
      if (!this.on) return;
      if (entry.block && entry.gen !== entry.block.gen) return;  // its line went to the next one
      if (!entry.block || !entry.block.el.isConnected) {
        entry.block = this.blockFor(entry);
        entry.gen = entry.block.gen;
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
      if (!entry.block || !entry.block.el.isConnected || entry.gen !== entry.block.gen) {
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
