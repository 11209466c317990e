// The platforms' in-call chat (platforms.md 1.6, 2.6, 3.6), written from the reference, not from
// what a bot reads: the others' messages arrive on the scenario's times; the panel may start closed
// (the messages are kept and shown once it opens), chat may be turned off for guests or not offered
// at all; a message past the platform's limit is refused. The truth has every message posted (the
// others' and the bot's, as the page received it).
//
// cfg.chat (scenario): { messages: [{sender, at, text}], panel, guests, input, max_chars }
//   panel:  'closed' (the default: a bot must open it) | 'open'
//   guests: 'allowed' | 'disabled' (the host turned chat off: no input, a notice instead)
//           | 'unavailable' (the call has no chat button)
//   input (Meet): 'aria' textarea[aria-label="Send a message"], 'placeholder' only the placeholder,
//                 'everyone' aria-label "Send a message to everyone" (reference 1.6, MB)
//         (Teams): 'aria' the editor's aria-label "Type a message", 'placeholder' its placeholder
//   max_chars: the platform's limit (Meet 500, Zoom 1024, Teams 4000 by default), said by the
//              input's maxlength where the page has one (Meet), enforced in every case
(() => {
  const { h } = window.SimCore;
  const LIMIT = { meet: 500, zoom: 1024, teams: 4000 };
  const clock = () => new Date().toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit' });
  let seq = 0;

  class Chat {
    constructor({ platform, cfg, report, selfName }) {
      this.platform = platform;
      this.cfg = { messages: [], panel: 'closed', guests: 'allowed', input: 'aria', ...(cfg || {}) };
      this.max = this.cfg.max_chars || LIMIT[platform];
      this.report = report;
      this.selfName = selfName;
      this.posted = [];          // { sender, text, self, id }
      this.panel = null;
      this.open = false;
    }
    get offered() { return this.cfg.guests !== 'unavailable'; }

    // The others' messages, on the call's timeline (`at(seconds after admission, fn)`).
    start(at) {
      this.report('chat_ready', { max_chars: this.max, guests: this.cfg.guests, panel: this.cfg.panel });
      for (const m of this.cfg.messages || []) at(m.at || 0, () => this.post(m.sender, m.text, false));
      if (this.cfg.panel === 'open' && this.offered) this.toggle();
    }

    post(sender, text, self) {
      const id = `${this.platform}-msg-${++seq}`;
      const msg = { sender, text, self, id };
      this.posted.push(msg);
      this.report('chat_posted', { sender: self ? this.selfName : sender, text, self, id });
      if (this.open) this.append(msg);
      else if (!self) this.toast(msg);
      return msg;
    }

    // The button that opens the panel, per platform; the page places it in its toolbar.
    button(cls) {
      if (!this.offered) return null;
      const onclick = () => this.toggle();
      if (this.platform === 'meet') {
        return h('button', { class: cls, jsname: 'b0t70b', 'aria-label': 'Chat with everyone', 'data-tooltip': 'Chat with everyone', onclick },
          h('i', { class: 'google-symbols', 'aria-hidden': 'true', text: 'chat' }));
      }
      if (this.platform === 'zoom') {
        return h('button', { type: 'button', class: cls, 'aria-label': 'open the chat panel', onclick },
          h('i', { class: 'zm-icon' }), h('span', { class: 'footer-button-base__button-label', text: 'Chat' }));
      }
      return h('button', { type: 'button', id: 'chat-button', class: cls, 'aria-label': 'Chat', 'data-inp': 'chat-button', onclick },
        h('span', { class: 'toolbar-icon' }), h('span', { class: 'toolbar-label', text: 'Chat' }));
    }

    // The panel lives in `host` (the page's side area) while open; closed, it is not in the DOM.
    mount(host) { this.host = host; return this; }

    toggle() {
      this.open = !this.open;
      this.report('chat_panel', { open: this.open });
      if (!this.open) {
        if (this.panel) this.panel.remove();
        this.panel = null; this.list = null;
        this.host.classList.add('sim-gone');
        return;
      }
      this.panel = this.render();
      this.host.append(this.panel);
      this.host.classList.remove('sim-gone');
      for (const m of this.posted) this.append(m);
    }

    render() {
      const disabled = this.cfg.guests === 'disabled';
      if (this.platform === 'meet') {
        this.list = h('div', { class: 'z38b6 messages', 'aria-live': 'polite', jsname: 'xySENc' });
        const attrs = { rows: '2', class: 'qdOxv-fmcmS-wGMbrd', maxlength: String(this.max) };
        if (this.cfg.input === 'placeholder') attrs.placeholder = 'Send a message';
        else attrs['aria-label'] = this.cfg.input === 'everyone' ? 'Send a message to everyone' : 'Send a message';
        if (this.cfg.input !== 'placeholder') attrs.placeholder = 'Send a message';
        const box = disabled ? null : h('textarea', attrs);
        const send = h('button', { class: 'icon-btn send-btn', jsname: 'SoqoBf', onclick: () => this.submit(box.value, () => { box.value = ''; }) },
          h('i', { class: 'google-symbols', 'aria-hidden': 'true', text: 'send' }));
        if (box) box.addEventListener('keydown', (e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); send.click(); } });
        return h('div', { class: 'chat-panel', role: 'complementary', 'aria-label': 'In-call messages' },
          h('h3', { text: 'In-call messages' }), this.list,
          disabled ? h('div', { class: 'chat-off', text: 'The host has turned off chat for everyone but hosts' })
            : h('div', { class: 'chat-input' }, box, send));
      }
      if (this.platform === 'zoom') {
        this.list = h('div', { role: 'list', 'aria-label': 'Chat Message List', class: 'chat-message-list' });
        const p = h('p', { 'data-placeholder': 'Type message here ...', class: 'is-editor-empty' });
        const editor = h('div', { contenteditable: 'true', role: 'textbox', class: 'tiptap ProseMirror', translate: 'no' }, p);
        const send = h('button', { type: 'button', class: 'chat-rtf-box__send', 'aria-label': 'send', onclick: () => this.submit(editor.textContent, () => editor.replaceChildren(h('p', { 'data-placeholder': 'Type message here ...', class: 'is-editor-empty' }))) });
        editor.addEventListener('keydown', (e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); send.click(); } });
        return h('div', { class: 'chat-container', id: 'chat-container' },
          h('div', { class: 'chat-header', text: 'Meeting Chat' }), this.list,
          disabled ? h('div', { class: 'chat-privilege-disabled', text: 'Chat has been disabled by the host' })
            : h('div', { class: 'chat-rtf-box' }, h('div', { class: 'chat-rtf-box__editor-outer' }, editor), send));
      }
      this.list = h('div', { 'data-tid': 'chat-pane-list', role: 'list', class: `fui-Chat l-${Math.random().toString(36).slice(2, 6)}` });
      const attrs = { contenteditable: 'true', role: 'textbox', class: 'ck-editor__editable' };
      if (this.cfg.input === 'placeholder') attrs.placeholder = 'Type a message';
      else attrs['aria-label'] = 'Type a message';
      const editor = h('div', attrs);
      const send = h('button', { type: 'button', 'data-tid': 'newMessageCommands-send', 'aria-label': 'Send', onclick: () => this.submit(editor.textContent, () => { editor.textContent = ''; }) });
      editor.addEventListener('keydown', (e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); send.click(); } });
      return h('div', { class: 'chat-pane', 'data-tid': 'chat-pane' }, this.list,
        disabled ? h('div', { 'data-tid': 'chat-disabled', text: 'Chat is turned off for attendees' })
          : h('div', { class: 'chat-compose' }, h('div', { 'data-tid': 'ckeditor' }, editor), send));
    }

    submit(raw, clear) {
      const text = String(raw || '').replace(/\u00a0/g, ' ').trim();
      if (!text) return;
      if (text.length > this.max) {  // the page refuses it (its input says how long it is)
        this.report('chat_refused', { reason: 'too_long', chars: text.length, max: this.max });
        return;
      }
      clear();
      this.post(this.selfName, text, true);
    }

    append(m) {
      if (!this.list) return;
      const who = m.self ? 'You' : m.sender;
      if (this.platform === 'meet') {
        const last = this.list.lastElementChild;
        const group = last && last.dataset.sender === who ? last
          : this.list.appendChild(h('div', { class: 'aops0b', 'data-sender': who },
            h('div', { class: 'HNucUd' }, h('span', { class: 'poVWob', text: who }), h('span', { class: 'MuzmKe', text: clock() })),
            h('div', { class: 'beTDc' })));
        group.lastElementChild.append(h('div', { 'data-message-id': m.id, class: 'RLrADb' }, h('div', { class: 'jO4O1', text: m.text })));
      } else if (this.platform === 'zoom') {
        const label = `${m.self ? 'You' : m.sender} to Everyone, ${clock()}, ${m.text}`;
        this.list.append(h('div', { id: `chat-message-content-${m.id}`, role: 'listitem', 'aria-label': label, class: 'new-chat-message__container' },
          h('div', { class: 'chat-item__sender', text: `${who} to Everyone` }),
          h('div', { class: 'new-chat-message__content' }, h('div', { class: 'new-chat-message__text-content', text: m.text }))));
      } else {
        this.list.append(h('div', { 'data-tid': 'chat-pane-item', role: 'listitem' },
          h('div', { 'data-tid': 'chat-pane-message', 'data-mid': m.id },
            h('span', { 'data-tid': 'message-author-name', text: who }),
            h('time', { text: clock() }),
            h('div', { 'data-tid': 'messageBodyContent' }, h('p', { text: m.text })))));
      }
    }

    // A closed panel: the platform shows new messages briefly (Meet's live region, reference 1.6).
    toast(m) {
      if (this.platform !== 'meet' || !this.host) return;
      const el = h('div', { class: 'Ge9Kpc', 'aria-live': 'polite' }, h('span', { text: `${m.sender}: ${m.text}` }));
      document.body.append(el);
      setTimeout(() => el.remove(), 3000);
    }
  }

  window.SimChat = Chat;
})();
