// Simulated Google Meet page, written from shared/reference/platforms.md (section 1 and 5).
// Selectors and texts mirror the live page, including its traps; see the reference for each.
// Reporting, media, speech on the audio clock, the call's timeline, the sync marker, dialogs and the
// end of the meeting come from common/sim-core.js (SimCore).
(() => {
  'use strict';

  const { epoch, h, reporter, Media, Session, lobbyOutcome, controlPoller } = window.SimCore;
  const CFG = JSON.parse(document.getElementById('sim-config').textContent);
  const MO = CFG.meet || {};
  const app = document.getElementById('yDmH0d');
  const report = reporter(CFG.known ? CFG.api : null);

  // Icons keep Meet's ligature text (e.g. "call_end") for bots that read it; CSS draws the glyph.
  const icon = (name) => h('i', { class: 'google-symbols', 'aria-hidden': 'true', 'data-icon': name, text: name });
  const gone = (el) => el && el.classList.add('sim-gone');

  const clockText = () => new Date().toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit' });
  const homeButton = () => h('button', { class: 'btn-text', jsname: 'EszDEe', onclick: goHome }, h('span', { text: 'Return to home screen' }));

  let S = { state: 'prejoin' };  // the Session once the meeting is known
  function goHome() {
    if (S.state === 'waiting' || S.state === 'prejoin') report('left', { from: S.state });
    if (S.state === 'call') leaveCall();
    location.href = '/';
  }

  // ---------- error pages ----------
  function errorPage(title, body) {
    S.state = 'error';
    app.replaceChildren(h('div', { class: 'error-page', role: 'main' },
      h('h1', { class: 'err-title', text: title }),
      body ? h('p', { class: 'err-body' }, ...body) : null,
      homeButton()));
  }
  if (!CFG.known || CFG.not_found) {
    errorPage('Check your meeting code', ['Make sure you entered the correct meeting code in the URL, for example: ',
      'https://meet.google.com/', h('b', { text: 'xxx-yyyy-zzz' })]);
    report('page_loaded', { page: 'not_found' });
    return;
  }
  if (CFG.blocked) {
    errorPage('You can\'t join this video call', ['Return to the home screen to join another video call.']);
    report('page_loaded', { page: 'blocked' });
    return;
  }

  // ---------- speaking signal variants (reference 1.4) ----------
  const SIGNAL = MO.speaking_signal || 'class_and_level';
  const SPEAKING_CLASS = MO.speaking_class || 'Oaajhc';
  const SILENT_CLASS = 'gjg47c';
  const usesClass = SIGNAL !== 'audio_level';
  const usesLevel = SIGNAL === 'audio_level' || SIGNAL === 'class_and_level';
  const COUNT = MO.count_signal || 'all';
  // A live level meter: never "0" while speaking, exactly "0" while silent.
  const LEVELS = ['0.62', '0.81', '0.47', '0.93', '0.35', '0.74', '0.58', '0.88'];

  // ---------- local media ----------
  const media = new Media(report);
  media.start();

  function toggleButton(kind) {
    const on = kind === 'mic' ? media.micOn : media.camOn;
    const word = kind === 'mic' ? 'microphone' : 'camera';
    return h('button', {
      class: 'round-btn toggle-' + kind, jsname: kind === 'mic' ? 'hw0c9' : 'psRWwc',
      'aria-label': (on ? 'Turn off ' : 'Turn on ') + word, 'data-is-muted': String(!on),
      'data-tooltip': (on ? 'Turn off ' : 'Turn on ') + word,
      onclick: () => {
        if (kind === 'mic') media.micOn = !media.micOn; else media.camOn = !media.camOn;
        report(kind + '_toggled', { on: kind === 'mic' ? media.micOn : media.camOn, in: S.state });
        media.sync();
        syncToggles();
      },
    }, icon(''));
  }
  function syncToggles() {
    for (const [kind, on, word, onIcon, offIcon] of [
      ['mic', media.micOn, 'microphone', 'mic', 'mic_off'],
      ['cam', media.camOn, 'camera', 'videocam', 'videocam_off'],
    ]) {
      for (const b of document.querySelectorAll('.toggle-' + kind)) {
        const label = (on ? 'Turn off ' : 'Turn on ') + word;
        b.setAttribute('aria-label', label);
        b.setAttribute('data-tooltip', label);
        b.setAttribute('data-is-muted', String(!on));
        b.classList.toggle('is-off', !on);
        const i = b.querySelector('i');
        i.textContent = on ? onIcon : offIcon;
        i.dataset.icon = i.textContent;
      }
    }
  }

  // The self effects control carries the self device id in the lobby and in the call (a trap for
  // bots that count [data-participant-id] to decide they were admitted).
  const effectsButton = () => h('div', { class: 'effects', 'data-participant-id': CFG.self_id, jsname: 'jkVhXe' },
    h('button', { class: 'round-btn small', 'aria-label': 'Backgrounds and effects', 'data-tooltip': 'Apply visual effects' }, icon('visual_effects')));
  // Leave call also exists in the lobby (reference 1.3: VX warning).
  const leaveButton = (onclick) => h('button', { class: 'round-btn leave', jsname: 'CQylAd', 'aria-label': 'Leave call', 'data-tooltip': 'Leave call', onclick }, icon('call_end'));
  const moreButton = () => h('button', { class: 'round-btn small', jsname: 'NakZHc', 'aria-label': 'More options', 'data-tooltip': 'More options' }, h('span', {}, icon('more_vert')));

  // ---------- pre-join ("green room") and waiting room ----------
  const lobby = {};

  function renderPrejoin() {
    S.state = 'prejoin';
    const initial = h('div', { class: 'preview-off', text: 'Camera is off' });
    lobby.input = h('input', {
      type: 'text', jsname: 'YPqjbf', class: 'name-input', 'aria-label': 'Your name', placeholder: 'Your name',
      autocomplete: 'off', spellcheck: 'false', maxlength: '60',
    });
    const label = MO.join_label || (CFG.lobby.mode === 'open' ? 'Join now' : 'Ask to join');
    lobby.join = h('button', { class: 'btn-primary join-btn', jsname: 'Qx7uuf', disabled: true },
      h('span', { class: 'UywwFc-vQzf8d', text: label }));
    const updateJoin = () => { lobby.join.disabled = lobby.input.value.trim() === ''; };
    for (const ev of ['input', 'change', 'keyup']) lobby.input.addEventListener(ev, updateJoin);
    lobby.input.addEventListener('keydown', (e) => { if (e.key === 'Enter' && !lobby.join.disabled) lobby.join.click(); });
    lobby.join.addEventListener('click', onJoinClick);

    lobby.panel = h('div', { class: 'join-panel' },
      h('h2', { class: 'ready', text: 'What\u2019s your name?' }),
      h('label', { class: 'name-field' }, lobby.input),
      h('div', { class: 'join-actions' }, lobby.join),
      h('div', { class: 'meeting-title', text: CFG.title }));
    app.replaceChildren(h('div', { class: 'prejoin', jsname: 'Cb8tYe' },
      h('header', { class: 'brand' }, h('span', { class: 'logo' }), h('span', { text: 'Meet' })),
      h('div', { class: 'prejoin-body' },
        h('div', { class: 'preview' }, media.video(), initial,
          h('div', { class: 'preview-name', text: '' }),
          h('div', { class: 'preview-top' }, moreButton()),
          h('div', { class: 'preview-controls' }, toggleButton('mic'), toggleButton('cam'), leaveButton(goHome)),
          h('div', { class: 'preview-effects' }, effectsButton())),
        lobby.panel)));
    syncToggles();
    media.sync();
    report('page_loaded', { page: 'prejoin' });
  }

  function onJoinClick() {
    if (S.state !== 'prejoin' || lobby.join.disabled) return;
    const t = epoch();
    const name = lobby.input.value.trim();
    const snapshot = { name, mic_on: media.micOn, camera_on: media.camOn };
    report('join_clicked', media.camOn
      ? media.meanRgb().then((rgb) => ({ ...snapshot, camera_mean_rgb: rgb }))
      : { ...snapshot, camera_mean_rgb: null }, t);
    media.name = name;
    if (CFG.lobby.mode === 'open') { enterCall(); return; }
    renderWaiting();
  }

  function renderWaiting() {
    S.state = 'waiting';
    gone(lobby.input.closest('label'));
    gone(lobby.join.closest('.join-actions'));
    lobby.panel.querySelector('.ready').textContent = 'Asking to be let in...';
    lobby.waitText = h('div', { class: 'wait-text', jsname: 'r4nke' }, h('span', { text: 'You\u2019ll join the call when someone lets you in' }));
    lobby.home = h('div', { class: 'join-actions' }, homeButton());
    lobby.panel.insertBefore(lobby.waitText, lobby.panel.querySelector('.meeting-title'));
    lobby.panel.insertBefore(lobby.home, lobby.panel.querySelector('.meeting-title'));
    report('waiting');
    const first = lobbyOutcome(CFG.lobby);
    if (first) lobby.timer = setTimeout(() => lobbyDone(first[0]), first[1] * 1000);
    drain();
  }

  function lobbyDone(kind) {
    if (S.state !== 'waiting') return;
    clearTimeout(lobby.timer);
    if (kind === 'admit') { enterCall(); return; }
    S.state = kind === 'deny' ? 'denied' : 'no_response';
    // The waiting texts stay in the DOM (hidden): bots must look for the denial first.
    const heading = lobby.panel.querySelector('.ready');
    heading.classList.add('sim-gone');
    gone(lobby.waitText);
    const msg = kind === 'deny' ? 'Someone in the call denied your request to join' : 'No one responded to your request to join the call';
    lobby.panel.insertBefore(h('h2', { class: 'denied', role: 'alert', text: msg }), heading);
    report(kind === 'deny' ? 'denied' : 'no_response', { text: msg });
  }

  // ---------- in call ----------
  const call = { present: new Map(), captions: false, levels: new Map() };

  function enterCall() {
    clearTimeout(lobby.timer);
    renderCall();
    const t0 = performance.now();
    report('admitted', {}, epoch(t0));
    S.begin(t0);
    call.chat.start((sec, fn) => S.timeline.at(sec, fn));
    S.timeline.every(10000, () => { call.clock.textContent = clockText(); });
    drain();
  }

  function peopleLabel(n) { return COUNT === 'all' || COUNT === 'people_button' ? `People - ${n} joined` : 'People'; }

  function renderCall() {
    call.grid = h('div', { class: 'grid', jsname: 'E2KThb' });
    call.cc = new window.SimCaptions({ platform: 'meet', cfg: CFG.captions, report });
    S.captions = call.cc;
    call.captionsBox = h('div', { class: 'captions-area' }, captionLanguages(), call.cc.mount());
    call.peopleBadge = COUNT === 'all' ? h('div', { class: 'egzc7c', text: '1' }) : null;
    call.peopleBtn = h('button', { class: 'icon-btn', jsname: 'A5il2e', 'aria-label': peopleLabel(1), 'data-tooltip': 'Show everyone', onclick: () => togglePanel('people') },
      icon('people'), call.peopleBadge);
    call.captionsBtn = call.cc.available
      ? h('button', { class: 'round-btn captions-btn', jsname: 'r8qRAd', 'aria-label': 'Turn on captions', 'data-tooltip': 'Turn on captions', onclick: toggleCaptions }, icon('closed_caption_off'))
      : null;
    const avatarCount = COUNT === 'all' || COUNT === 'avatar_count';
    call.avatarCount = h('div', { class: 'avatar-count', 'data-avatar-count': avatarCount ? '1' : null }, call.peopleBtn);
    call.panel = h('aside', { class: 'side-panel sim-gone' });
    call.chatSide = h('aside', { class: 'side-panel chat-side sim-gone' });
    call.chat = new window.SimChat({ platform: 'meet', cfg: CFG.chat, report, selfName: media.name }).mount(call.chatSide);
    call.clock = h('span', { class: 'clock', text: clockText() });
    call.root = h('div', { class: 'call', jsname: 'Qv6vKc' },
      h('div', { class: 'stage' }, call.grid, call.panel, call.chatSide),
      call.captionsBox,
      h('div', { class: 'bottom-bar' },
        h('div', { class: 'call-info' }, call.clock, h('span', { class: 'sep', text: '|' }), h('span', { class: 'code', text: CFG.code })),
        h('div', { class: 'controls', role: 'region', 'aria-label': 'Call controls' },
          toggleButton('mic'), toggleButton('cam'), call.captionsBtn,
          h('button', { class: 'round-btn', jsname: 'hNGZQc', 'aria-label': 'Share screen', 'data-tooltip': 'Present now' }, icon('present_to_all')),
          effectsButton(), moreButton(), leaveButton(leaveCall)),
        h('div', { class: 'side-buttons' }, call.avatarCount,
          call.chat.button('icon-btn'))));
    call.grid.append(makeTile({ name: media.name, id: CFG.self_id, color: CFG.self_color }, true));
    app.replaceChildren(call.root);
    syncToggles();
    media.sync();
    updateCounts();
  }

  function makeTile(p, self = false) {
    const ind = h('div', {
      class: 'audio-ind' + (SIGNAL === 'class_child' || SIGNAL === 'class_and_level' ? ' ' + SILENT_CLASS : ''),
      'data-audio-level': usesLevel ? '0' : null, jsname: 'QgSmzd',
    }, h('span'), h('span'), h('span'));
    return h('div', {
      class: 'tile' + (self ? ' self' : '') + (SIGNAL === 'class_tile' ? ' ' + SILENT_CLASS : ''),
      'data-participant-id': p.id, 'data-requested-participant-id': p.id, 'data-self-name': self ? p.name : null, jsname: 'vYHHwe',
    },
      h('div', { class: 'avatar', style: `background:${p.color}`, text: (p.name || '?').trim().charAt(0).toUpperCase() }),
      self ? media.video() : null,
      ind,
      h('div', { class: 'name-plate' }, h('span', { class: 'notranslate', text: p.name })));
  }

  function join(p, tP) {
    if (S.state !== 'call' || call.present.has(p.name)) return;
    const tile = makeTile(p);
    call.present.set(p.name, tile);
    call.grid.insertBefore(tile, call.grid.querySelector('.tile.self'));
    updateCounts();
    report('participant_joined', { name: p.name }, epoch(tP));
  }
  function leave(p, tP) {
    const tile = call.present.get(p.name);
    if (!tile) return;
    stopLevel(p.name);
    tile.remove();
    call.present.delete(p.name);
    updateCounts();
    report('participant_left', { name: p.name }, epoch(tP));
  }
  function updateCounts() {
    const n = call.present.size + 1;
    call.peopleBtn.setAttribute('aria-label', peopleLabel(n));
    if (call.peopleBadge) call.peopleBadge.textContent = String(n);
    if (call.avatarCount.hasAttribute('data-avatar-count')) call.avatarCount.setAttribute('data-avatar-count', String(n));
    call.grid.dataset.count = String(Math.min(n, 9));
    if (call.panelKind === 'people') renderPeople();
  }

  function stopLevel(name) { clearInterval(call.levels.get(name)); call.levels.delete(name); }
  function setSignal(name, on) {
    const tile = call.present.get(name);
    if (!tile) return;
    const ind = tile.querySelector('.audio-ind');
    if (usesClass) {
      const el = SIGNAL === 'class_tile' ? tile : ind;
      el.classList.toggle(SPEAKING_CLASS, on);
      el.classList.toggle(SILENT_CLASS, !on);
    }
    if (!usesLevel) return;
    if (SIGNAL === 'class_and_level') { ind.setAttribute('data-audio-level', on ? '0.8' : '0'); return; }
    stopLevel(name);
    if (!on) { ind.setAttribute('data-audio-level', '0'); return; }
    let i = 0;
    ind.setAttribute('data-audio-level', LEVELS[0]);
    call.levels.set(name, setInterval(() => { i = (i + 1) % LEVELS.length; ind.setAttribute('data-audio-level', LEVELS[i]); }, 120));
  }

  // ---------- captions, people, chat ----------
  function toggleCaptions() {
    call.captions = call.cc.toggle();
    const label = call.captions ? 'Turn off captions' : 'Turn on captions';
    call.captionsBtn.setAttribute('aria-label', label);
    call.captionsBtn.setAttribute('data-tooltip', label);
    call.captionsBtn.querySelector('i').textContent = call.captions ? 'closed_caption' : 'closed_caption_off';
    call.langs.classList.toggle('sim-gone', !call.captions);
  }
  // The caption language list (reference 1.6): shown while captions are on.
  function captionLanguages() {
    const langs = (CFG.captions && CFG.captions.languages) || [];
    call.langs = h('ul', { class: 'caption-langs sim-gone', role: 'listbox', 'aria-label': 'Meeting language' },
      ...langs.map((v, i) => h('li', { role: 'option', 'data-value': v, 'aria-selected': String(i === 0), text: v,
        onclick: (e) => {
          for (const li of call.langs.children) li.setAttribute('aria-selected', String(li === e.currentTarget));
          report('captions_language', { value: v });
        } })));
    return call.langs;
  }
  function togglePanel(kind) {
    call.panelKind = call.panelKind === kind ? null : kind;
    call.panel.classList.toggle('sim-gone', !call.panelKind);
    if (call.panelKind === 'people') renderPeople();
  }
  function renderPeople() {
    const rows = [...call.present.keys(), media.name + ' (You)'].map((n) =>
      h('div', { role: 'listitem', 'aria-label': n, class: 'person' }, h('span', { class: 'notranslate', text: n })));
    call.panel.replaceChildren(h('h3', { text: 'People' }), h('div', { role: 'list', 'aria-label': 'Participants' }, rows));
  }
  // ---------- in-call dialogs (reference 1.2 "Post-click dialogs") ----------
  // The aria-modal ones sit on a scrim over the whole call; toasts cover only themselves.
  const MODALS = {
    recorded: { title: 'This video call is being recorded', ok: 'Join now', leave: true,
      body: 'By staying in the call, you consent to being recorded. The recording may include your voice, video and what you present.' },
    transcribed: { title: 'This video call is being transcribed', ok: 'Join now', leave: true,
      body: 'By staying in the call, you consent to being transcribed. The transcript may include what you say and your name.' },
    gemini_notes: { title: 'Gemini is taking notes', ok: 'OK', close: true,
      body: 'Gemini in Meet is taking notes for the host. Notes will be shared with the meeting organizer.' },
    others_see: { title: 'Others may see your video differently', ok: 'Got it', close: true,
      body: 'Your video may look different to others in the call, depending on their device and connection.' },
  };
  function meetDialog(kind, dismiss, index) {
    const m = MODALS[kind];
    if (m) {
      const id = `sim-dialog-${index}-title`;
      const scrim = h('div', { class: 'scrim' }, h('div', { class: 'consent', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': id },
        m.close ? h('button', { class: 'dialog-close', 'aria-label': 'Close', 'data-mdc-dialog-action': 'close', onclick: () => dismiss('Close') }, icon('close')) : null,
        h('h2', { id, text: m.title }),
        h('p', { text: m.body }),
        h('div', { class: 'dialog-actions' },
          m.leave ? h('button', { class: 'btn-text', 'data-mdc-dialog-action': 'cancel', onclick: () => { dismiss('Leave meeting'); leaveCall(); } }, h('span', { text: 'Leave meeting' })) : null,
          h('button', { class: 'btn-text strong', 'data-mdc-dialog-action': 'ok', onclick: () => {
            dismiss(m.ok);
            if (kind === 'recorded') report('consent_accepted');
          } }, h('span', { text: m.ok })))));
      call.root.append(scrim);
      if (kind === 'recorded') report('consent_shown');
      return scrim;
    }
    if (kind === 'got_it') {
      const tip = h('div', { class: 'sim-toast tooltip', role: 'dialog', 'aria-label': 'Meeting safety' },
        h('div', { class: 'toast-title', text: 'Your meeting is safe' }),
        h('div', { class: 'toast-text', text: 'No one can join a meeting unless invited or admitted by the host' }),
        h('div', { class: 'toast-actions' }, h('button', { class: 'btn-text', onclick: () => dismiss('Got it') }, h('span', { text: 'Got it' }))));
      call.root.append(tip);
      return tip;
    }
    // mic_not_found: a toast closed by its dismiss icon button
    const toast = h('div', { class: 'sim-toast snackbar', role: 'alert', 'aria-live': 'assertive' },
      h('div', {},
        h('div', { class: 'toast-title', text: 'Microphone not found' }),
        h('div', { class: 'toast-text', text: 'Make sure your microphone is plugged in' })),
      h('button', { class: 'icon-btn toast-close', 'aria-label': 'Dismiss', 'data-tooltip': 'Dismiss', onclick: () => dismiss('Dismiss') }, icon('close')));
    call.root.append(toast);
    return toast;
  }

  // ---------- endings ----------
  function endScreen(title, buttons) {
    app.replaceChildren(h('div', { class: 'roSPhc end-screen', role: 'main' },
      h('h1', { class: 'end-title', text: title }), h('div', { class: 'end-actions' }, ...buttons)));
  }
  function leaveCall() { S.leaveCall(); }

  S = new Session({
    cfg: CFG, report,
    hooks: {
      join, leave,
      speakingOn: (name, n) => { setSignal(name, n > 0); },
      speakingOff: (name, n) => { setSignal(name, n > 0); },
      dialog: meetDialog,
      teardown: () => { for (const name of [...call.levels.keys()]) stopLevel(name); },
      endScreen: (kind) => endScreen(kind === 'removed' ? 'You\'ve been removed from the meeting' : 'Your host ended the meeting for everyone', [homeButton()]),
      leftScreen: () => endScreen('You left the meeting', [
        h('button', { class: 'btn-outline', jsname: 'oI7Fj', onclick: () => location.reload() }, h('span', { text: 'Rejoin' })),
        homeButton()]),
    },
  });

  // ---------- manual control (rehearsals, tests) ----------
  function apply(action) {
    if (action === 'admit' || action === 'deny' || action === 'no_response') {
      if (S.state === 'waiting') { lobbyDone(action); return true; }
      return S.state !== 'prejoin';  // drop once past the lobby
    }
    if (action === 'end' || action === 'remove' || action === 'everyone_leave') {
      if (S.state === 'call') { S.end({ end: 'host_ended', remove: 'removed', everyone_leave: 'everyone_left' }[action]); return true; }
      return !(S.state === 'prejoin' || S.state === 'waiting');
    }
    return true;
  }
  const drain = controlPoller(CFG.api, apply);

  renderPrejoin();
})();
