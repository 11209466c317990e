// Simulated Microsoft Teams (v2 web, anonymous join), written from shared/reference/platforms.md
// (section 3 and 5). One document for every entry URL: the meeting is read from location (path,
// query and fragment), since the v2 and launcher forms keep it in the fragment.
(() => {
  'use strict';

  const { epoch, h, reporter, Media, Session, lobbyOutcome, controlPoller, initials } = window.SimCore;
  const BOOT = JSON.parse(document.getElementById('sim-config').textContent);
  const app = document.getElementById('app');

  // ---------- login.microsoftonline.com stand-in ----------
  if (BOOT.view === 'login') {
    const q = new URLSearchParams(location.search);
    const state = q.get('state');
    if (state && /^[a-z0-9][a-z0-9-]{1,62}$/.test(state)) reporter(`/_sim/api/meetings/${state}`)('page_loaded', { page: 'login' });
    document.body.classList.add('ms-login');
    app.replaceChildren(h('div', { class: 'login-box' },
      h('div', { class: 'ms-logo' }, h('span'), h('span'), h('span'), h('span'), h('b', { text: 'Microsoft' })),
      h('div', { role: 'heading', 'aria-level': '1', class: 'login-title', text: 'Sign in' }),
      h('form', { name: 'f1', onsubmit: (e) => e.preventDefault() },
        h('input', { type: 'email', name: 'loginfmt', id: 'i0116', class: 'form-control', placeholder: 'Email, phone, or Skype', 'aria-label': 'Enter your email, phone, or Skype.' }),
        h('div', { class: 'login-links' }, h('a', { href: '#', text: 'Can\u2019t access your account?' })),
        h('input', { type: 'submit', id: 'idSIButton9', class: 'win-button button_primary', value: 'Next' }))));
    return;
  }

  // ---------- which meeting? ----------
  function parseLocation() {
    const path = location.pathname;
    let deep = null, stage = 'launcher';
    if (path.startsWith('/l/meetup-join/') || path.startsWith('/meet/')) deep = path + location.search;
    else if (path === '/dl/launcher/launcher.html') {
      const url = new URLSearchParams(location.search).get('url') || '';
      deep = url.includes('#') ? url.slice(url.indexOf('#') + 1) : location.hash.slice(1);
    } else if (path.startsWith('/v2')) { deep = location.hash.slice(1); stage = path.includes('/postmeeting') ? 'postmeeting' : 'v2'; }
    else if (path.startsWith('/light-meetings/launch')) {
      stage = 'v2';
      try {
        const c = JSON.parse(atob(new URLSearchParams(location.search).get('coords') || ''));
        deep = `/l/meetup-join/${encodeURIComponent(c.conversationId)}/${c.messageId || 0}`;
      } catch (e) { deep = null; }
    }
    if (!deep) return { stage, code: null };
    const m = deep.match(/^\/l\/meetup-join\/([^/?#]+)\/([^/?#]*)(\?.*)?$/);
    if (m) {
      let thread = m[1];
      try { thread = decodeURIComponent(thread); } catch (e) { /* keep raw */ }
      const t = thread.match(/^19:meeting_([^@]+)@thread\.v2$/);
      return { stage, deep, code: t ? t[1] : null, passcode: null };
    }
    const meet = deep.match(/^\/meet\/([^/?#]+)(\?.*)?$/);
    if (meet) return { stage, deep, code: decodeURIComponent(meet[1]), passcode: new URLSearchParams(meet[2] || '').get('p') };
    return { stage, code: null };
  }
  const LOC = parseLocation();
  const v2Url = () => '/v2/?meetingjoin=true#' + LOC.deep + (LOC.deep.includes('?') ? '&' : '?') + 'anon=true';

  const shell = (...kids) => h('div', { class: 'teams-shell' },
    h('header', { class: 'teams-title-bar', 'data-tid': 'app-bar' }, h('span', { class: 'teams-logo', text: 'T' }), h('span', { text: 'Microsoft Teams' })),
    h('main', { class: 'teams-main' }, ...kids));

  function badUrl() {
    app.replaceChildren(shell(h('div', { class: 'center-card', role: 'alert' },
      h('h2', { text: 'Looks like the meeting URL is incorrect. Please check the URL and try again.' }))));
  }

  // Where the app goes when the host ends the meeting with teams.end_screen "post_meeting_url" (3.5 LMA).
  function postMeeting(report) {
    document.title = 'Meeting ended | Microsoft Teams';
    app.replaceChildren(shell(h('div', { class: 'center-card post-meeting', 'data-tid': 'post-meeting-screen' },
      h('h1', { class: 'post-meeting-title', text: 'This meeting has ended' }),
      h('p', { text: 'Thanks for joining. You can close this window.' }))));
    if (report) report('page_loaded', { page: 'postmeeting' });
  }

  async function boot() {
    if (LOC.stage === 'postmeeting' && !LOC.code) { postMeeting(null); return; }
    if (!LOC.code) { badUrl(); return; }
    let CFG;
    try {
      const r = await fetch(`/_sim/api/meetings/${encodeURIComponent(LOC.code)}/config?platform=teams`, { cache: 'no-store' });
      CFG = await r.json();
    } catch (e) { CFG = { known: false }; }
    if (!CFG.known) { badUrl(); return; }
    const report = reporter(CFG.api);
    if (LOC.stage === 'postmeeting') { postMeeting(report); return; }
    if (CFG.not_found) { badUrl(); report('page_loaded', { page: 'bad_url' }); return; }
    run(CFG, report);
  }

  function run(CFG, report) {
    const TO = CFG.teams;
    const media = new Media(report);

    // ---------- launcher: "Continue on this browser" ----------
    if (LOC.stage === 'launcher') {
      if (!TO.continue_on_browser) { location.replace(v2Url()); return; }
      app.replaceChildren(shell(h('div', { class: 'launcher-card', 'data-tid': 'launcher' },
        h('h1', { class: 'launcher-title', text: 'How do you want to join your Teams meeting?' }),
        h('div', { class: 'launcher-options' },
          h('div', { class: 'launcher-option' }, h('h3', { text: 'Join on the Teams app' }),
            h('button', { type: 'button', class: 'fui-Button secondary', 'data-tid': 'joinInApp', text: 'Join on the Teams app', onclick: () => report('launcher_app_clicked') })),
          h('div', { class: 'launcher-option' }, h('h3', { text: 'Continue on this browser' }),
            h('p', { text: 'No download or installation required.' }),
            h('button', { type: 'button', class: 'fui-Button primary', 'data-tid': 'joinOnWeb', 'aria-label': 'Join meeting from this browser', text: 'Continue on this browser',
              onclick: () => { report('launcher_browser_clicked'); location.href = v2Url(); } }))))));
      report('page_loaded', { page: 'launcher' });
      return;
    }

    // ---------- v2: sign-in bounce ----------
    if (TO.login_required) {
      const url = 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize?response_type=code&scope=openid%20profile'
        + '&redirect_uri=' + encodeURIComponent('https://' + location.host + '/v2') + '&state=' + encodeURIComponent(CFG.code) + '&sso_reload=true';
      report('blocked', { by: 'login' }).then(() => { location.href = url; });
      return;
    }

    // ---------- pre-join ----------
    // The in-call core (sim-core Session) also holds the page state from here on.
    const call = { present: new Map() };
    const S = new Session({
      cfg: CFG, report,
      hooks: {
        join, leave,
        speakingOn: (name, n) => setSignal(name, n > 0),
        speakingOff: (name, n) => { setSignal(name, n > 0); },
        dialog: teamsDialog,
        endScreen: meetingEnded,
        leftScreen: () => endScreen('You left the meeting'),
      },
    });
    S.state = 'prejoin';
    const pre = {};
    const passcodeNeeded = !!TO.passcode && LOC.passcode !== TO.passcode && LOC.deep.startsWith('/meet/');

    function toggle(kind) {
      const on = kind === 'mute' ? media.micOn : media.camOn;
      const input = h('input', { type: 'checkbox', role: 'switch', class: 'fui-Switch__input', 'data-tid': 'toggle-' + kind,
        'aria-checked': String(on), checked: on, title: kind === 'mute' ? 'Microphone' : 'Camera' });
      input.checked = on;
      input.addEventListener('change', () => {
        if (kind === 'mute') media.micOn = input.checked; else media.camOn = input.checked;
        if (kind === 'video' && media.camOn) media.start();
        report((kind === 'mute' ? 'mic' : 'cam') + '_toggled', { on: input.checked, in: S.state });
        media.sync();
      });
      return h('label', { class: 'prejoin-toggle' }, h('span', { class: 'toggle-icon toggle-icon--' + kind }), h('span', { class: 'fui-Switch' }, input, h('span', { class: 'fui-Switch__indicator' })));
    }
    function syncToggles() {
      for (const [kind, on] of [['mute', media.micOn], ['video', media.camOn]]) {
        const input = document.querySelector(`[data-tid="toggle-${kind}"]`);
        if (!input) continue;
        input.checked = on;
        input.setAttribute('aria-checked', String(on));
        if (on) input.setAttribute('checked', ''); else input.removeAttribute('checked');
      }
    }
    media.onchange = syncToggles;

    function renderPrejoin() {
      pre.name = h('input', { type: 'text', id: 'prejoin-display-name', class: 'fui-Input__input', 'data-tid': 'prejoin-display-name-input',
        placeholder: 'Type your name', 'aria-label': 'Type your name', maxlength: '100', autocomplete: 'off' });
      pre.pwd = passcodeNeeded ? h('input', { type: 'password', class: 'fui-Input__input', 'data-tid': 'prejoin-passcode-input', placeholder: 'Meeting passcode', 'aria-label': 'Meeting passcode' }) : null;
      pre.error = h('div', { class: 'prejoin-error sim-gone', role: 'alert' });
      pre.join = h('button', { type: 'button', class: 'fui-Button primary', 'data-tid': 'prejoin-join-button', disabled: true, text: 'Join now', onclick: onJoin });
      const sync = () => { if (S.state === 'prejoin') pre.join.disabled = pre.name.value.trim() === ''; };
      for (const ev of ['input', 'change', 'keyup']) pre.name.addEventListener(ev, sync);
      pre.name.addEventListener('keydown', (e) => { if (e.key === 'Enter' && !pre.join.disabled) onJoin(); });
      pre.status = h('div', { class: 'prejoin-status', 'aria-live': 'polite' });
      pre.form = h('div', { class: 'prejoin-form' }, pre.name, pre.pwd, pre.error);
      pre.preview = h('div', { class: 'prejoin-preview' }, media.video(), h('div', { class: 'prejoin-cam-off', text: 'Your camera is turned off' }),
        h('div', { class: 'prejoin-toggles' }, toggle('video'), toggle('mute')));
      app.replaceChildren(shell(h('div', { class: 'prejoin', 'data-tid': 'prejoin-screen' },
        h('h1', { class: 'prejoin-title', 'data-tid': 'prejoin-meeting-title', text: CFG.title }),
        h('p', { class: 'prejoin-subtitle', text: 'Choose your audio and video settings' }),
        h('div', { class: 'prejoin-body' },
          h('div', { class: 'prejoin-left' }, pre.preview, pre.form, pre.status),
          h('div', { class: 'prejoin-audio', role: 'radiogroup', 'aria-label': 'Audio settings' },
            h('div', { role: 'radio', 'aria-checked': 'true', class: 'audio-option', tabindex: '0', text: 'Computer audio' }),
            h('div', { role: 'radio', 'aria-checked': 'false', class: 'audio-option', tabindex: '-1', text: 'Don\u2019t use audio' }),
            h('button', { type: 'button', class: 'fui-Button subtle', title: 'Turn speaker on', 'aria-label': 'Turn speaker on', text: 'Speaker' }))),
        h('div', { class: 'prejoin-actions' },
          h('button', { type: 'button', class: 'fui-Button secondary', 'data-tid': 'prejoin-cancel-button', text: 'Cancel', onclick: () => { report('left', { from: S.state }); S.state = 'left'; endScreen('You left the meeting'); } }),
          pre.join))));
      syncToggles();
      media.sync();
      report('page_loaded', { page: 'prejoin', client: 'v2' });
    }

    // "Are you sure you don't want audio or video?": blocks Join now until dismissed.
    function noMediaModal(again) {
      return new Promise((resolve) => {
        const close = (withMedia) => {
          scrim.remove();
          if (withMedia) { media.micOn = true; media.camOn = true; media.start(); } else { media.micOn = false; media.camOn = false; }
          media.sync();
          report('no_media_modal', { again, with_media: withMedia });
          resolve();
        };
        const scrim = h('div', { class: 'fui-DialogSurface__backdrop' }, h('div', { class: 'fui-DialogSurface', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'nomedia-title' },
          h('h2', { id: 'nomedia-title', class: 'fui-DialogTitle', text: 'Are you sure you don\'t want audio or video?' }),
          h('p', { text: 'Others in the meeting won\u2019t be able to see or hear you.' }),
          h('div', { class: 'fui-DialogActions' },
            h('button', { type: 'button', class: 'fui-Button secondary', text: 'Allow audio and video', onclick: () => close(true) }),
            h('button', { type: 'button', class: 'fui-Button primary', text: 'Continue without audio or video', onclick: () => close(false) }))));
        document.body.append(scrim);
      });
    }

    let joinPending = false, modalAgainShown = false;
    async function onJoin() {
      if (S.state !== 'prejoin' || pre.join.disabled || joinPending) return;
      const name = pre.name.value.trim();
      if (TO.passcode && LOC.deep.startsWith('/meet/')) {
        const typed = pre.pwd ? pre.pwd.value : LOC.passcode;
        const ok = typed === TO.passcode;
        report('passcode_submitted', { passcode: typed, source: pre.pwd ? 'typed' : 'url', ok });
        if (!ok) { pre.error.textContent = 'Incorrect meeting passcode. Try again.'; pre.error.classList.remove('sim-gone'); return; }
      }
      const t = epoch();
      const snapshot = { name, mic_on: media.micOn, camera_on: media.camOn };
      report('join_clicked', media.camOn ? media.meanRgb().then((rgb) => ({ ...snapshot, camera_mean_rgb: rgb })) : { ...snapshot, camera_mean_rgb: null }, t);
      media.name = name;
      if (TO.no_media_modal_again && !modalAgainShown) {
        modalAgainShown = true;
        joinPending = true;
        await noMediaModal(true);
        joinPending = false;
      }
      if (TO.captcha) { captcha(); return; }
      if (CFG.lobby.mode === 'open') { enterCall(); return; }
      enterLobby();
    }

    function captcha() {
      S.state = 'blocked';
      const input = h('input', { type: 'text', class: 'fui-Input__input', 'aria-label': 'Enter the characters you see', placeholder: 'Enter the characters you see' });
      const err = h('div', { class: 'prejoin-error sim-gone', role: 'alert', text: 'The characters didn\u2019t match. Try again.' });
      app.replaceChildren(shell(h('div', { class: 'center-card captcha' },
        h('h2', { text: 'Verify you\'re a real person' }),
        h('img', { 'data-tid': 'HIP-Captcha-Image', alt: 'Captcha', src: '/_sim/static/teams/captcha.svg', width: '216', height: '96' }),
        input, err,
        h('button', { type: 'button', class: 'fui-Button primary', text: 'Verify', onclick: () => { err.classList.remove('sim-gone'); report('captcha_attempt', { text: input.value }); } }))));
      report('blocked', { by: 'captcha' });
    }

    // ---------- lobby: the pre-join stays, its Join button disabled ----------
    const lobby = {};
    function enterLobby() {
      S.state = 'waiting';
      pre.join.disabled = true;
      pre.name.disabled = true;
      pre.status.replaceChildren(h('div', { class: 'lobby-spinner' }), h('span', { class: 'lobby-text', text: TO.lobby_text }));
      pre.status.classList.add('lobby');
      report('waiting', { text: TO.lobby_text });
      const first = lobbyOutcome(CFG.lobby);
      if (first) lobby.timer = setTimeout(() => lobbyDone(first[0]), first[1] * 1000);
      drain();
    }
    function lobbyDone(kind) {
      if (S.state !== 'waiting') return;
      clearTimeout(lobby.timer);
      if (kind === 'admit') { enterCall(); return; }
      if (kind === 'no_response') { report('no_response', { text: null }); return; }  // keeps waiting
      S.state = 'denied';
      const text = 'Sorry, but you were denied access to the meeting.';
      retryScreen(text);
      report('denied', { text });
    }

    // ---------- in call ----------
    // Speaking signal variants (reference 3.4); PSEUDO_* are Griffel-style atomic classes.
    const SIG = TO.speaking_signal || 'class';
    const PSEUDO_BASE = '___2ebcl30', PSEUDO_ON = 'f1w7h6zi';

    function outlineFor() {
      const attrs = { 'data-tid': 'voice-level-stream-outline', class: 'voice-level-outline' };
      if (SIG === 'style') attrs.style = 'opacity: 0; border-color: transparent;';
      if (SIG === 'aria' && TO.aria_target !== 'tile') attrs['aria-hidden'] = 'true';
      if (SIG === 'pseudo') attrs.class += ` fui-Primitive ${PSEUDO_BASE}`;
      return h('div', attrs);
    }
    function tile(p, self) {
      return h('div', { 'data-stream-type': 'Video', 'data-tid': p.name, class: 'stage-tile' + (self ? ' stage-tile--self' : ''), role: 'group', 'aria-label': p.name },
        self ? media.video() : null,
        h('div', { class: 'tile-avatar', style: `background:${p.color}`, text: initials(p.name) }),
        outlineFor(),
        h('div', { class: 'tile-name' }, h('span', { text: self ? `${p.name} (You)` : p.name })));
    }
    function setSignal(name, on) {
      const el = call.present.get(name);
      if (!el) return;
      const outline = el.querySelector('[data-tid="voice-level-stream-outline"]');
      if (SIG === 'style') {
        outline.setAttribute('style', on ? 'opacity: 1; border-color: rgb(127, 133, 245);' : 'opacity: 0; border-color: transparent;');
      } else if (SIG === 'aria') {
        if (TO.aria_target === 'tile') el.setAttribute('aria-label', on ? `${name}, speaking` : name);
        else {
          outline.setAttribute('aria-hidden', String(!on));
          if (on) outline.setAttribute('aria-label', 'Speaking'); else outline.removeAttribute('aria-label');
        }
      } else if (SIG === 'class_transparent') {
        // The class goes, the border stays (solid, 3px) and an inline transparent colour is left behind.
        if (on) { outline.removeAttribute('style'); outline.classList.add('vdi-frame-occlusion'); }
        else { outline.classList.remove('vdi-frame-occlusion'); outline.style.borderColor = 'transparent'; }
      } else if (SIG === 'pseudo') {
        outline.classList.toggle(PSEUDO_ON, on);
      } else {
        outline.classList.toggle('vdi-frame-occlusion', on);
      }
    }

    function tb(id, label, text, extra = {}) {
      return h('button', { type: 'button', id, class: 'toolbar-btn', 'aria-label': label, 'data-inp': id, ...extra },
        h('span', { class: 'toolbar-icon' }), h('span', { class: 'toolbar-label', text }));
    }
    // The More menu (ATT): "Language and speech" opens a submenu with "Turn on live captions".
    function toggleMore() {
      if (call.menu) { call.menu.remove(); call.menu = null; return; }
      const sub = () => {
        const items = call.cc.available ? [h('button', { type: 'button', id: 'closed-captions-button', role: 'menuitem', class: 'menu-item',
          text: call.cc.on ? 'Turn off live captions' : 'Turn on live captions',
          onclick: () => { call.cc.toggle(); call.menu.remove(); call.menu = null; } })] : [];
        call.menu.append(h('div', { role: 'menu', class: 'submenu', 'aria-label': 'Language and speech' },
          ...items, h('button', { type: 'button', role: 'menuitem', class: 'menu-item', text: 'Speaker coach' })));
      };
      call.menu = h('div', { role: 'menu', class: 'more-menu', 'aria-label': 'More options' },
        h('button', { type: 'button', role: 'menuitem', class: 'menu-item', text: 'Settings' }),
        h('button', { type: 'button', id: 'LanguageSpeechMenuControl-id', role: 'menuitem', class: 'menu-item',
          'aria-haspopup': 'true', text: 'Language and speech', onclick: sub }));
      call.root.append(call.menu);
    }
    function renderCall() {
      call.cc = new window.SimCaptions({ platform: 'teams', cfg: CFG.captions, report });
      S.captions = call.cc;
      call.stage = h('div', { 'data-tid': 'modern-stage-wrapper', class: 'modern-stage' });
      call.chatSide = h('div', { class: 'side-pane sim-gone' });
      call.chat = new window.SimChat({ platform: 'teams', cfg: CFG.chat, report, selfName: media.name }).mount(call.chatSide);
      call.alone = h('div', { class: 'alone-text sim-gone', text: 'Waiting for others to join\u2026' });
      call.badge = TO.count_signal === 'tiles' ? null : h('span', { 'data-tid': 'toolbar-item-badge', class: 'toolbar-badge', text: '1' });
      call.roster = tb('roster-button', 'People', 'People');
      if (call.badge) call.roster.querySelector('.toolbar-icon').append(call.badge);
      call.timer = h('span', { class: 'call-timer', text: '00:00' });
      const hang = h('button', { type: 'button', id: 'hangup-button', 'data-tid': 'hangup-main-btn', 'data-inp': 'hangup-button', class: 'hangup-btn', 'aria-label': 'Leave', onclick: leaveCall },
        h('span', { class: 'toolbar-icon phone' }), h('span', { text: 'Leave' }));
      call.mic = tb('microphone-button', media.micOn ? 'Mute mic' : 'Unmute mic', 'Mic', { onclick: () => { media.micOn = !media.micOn; syncCallButtons(); report('mic_toggled', { on: media.micOn, in: S.state }); } });
      call.cam = tb('video-button', media.camOn ? 'Turn camera off' : 'Turn camera on', 'Camera', { onclick: () => { media.camOn = !media.camOn; if (media.camOn) media.start(); media.sync(); syncCallButtons(); report('cam_toggled', { on: media.camOn, in: S.state }); } });
      call.root = h('div', { 'data-tid': 'callingScreen', class: 'calling-screen' },
        h('div', { 'data-tid': 'calling-toolbar', role: 'toolbar', 'aria-label': 'Meeting controls', class: 'calling-toolbar' },
          h('div', { class: 'toolbar-left' }, call.timer),
          h('div', { class: 'toolbar-right' },
            call.chat.button('toolbar-btn'), call.roster,
            tb('raisehands-button', 'Raise', 'Raise'), tb('reaction-menu-button', 'React', 'React'),
            tb('view-mode-button', 'View', 'View'), tb('callingButtons-showMoreBtn', 'More', 'More', { onclick: toggleMore }),
            h('span', { class: 'toolbar-sep' }), call.cam, call.mic, tb('share-button', 'Share', 'Share'), hang)),
        h('div', { 'data-tid': 'app-layout-area--main', class: 'layout-main' },
          h('div', { 'data-test-segment-type': 'central', class: 'central' }, call.stage, call.alone, call.cc.mount()), call.chatSide));
      app.replaceChildren(call.root);
      addTile({ name: media.name, color: CFG.self_color }, true);
      syncCallButtons();
      media.sync();
      const t0 = performance.now();
      S.timeline.every(1000, () => {
        const s = Math.floor((performance.now() - t0) / 1000);
        call.timer.textContent = `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
      });
    }
    function syncCallButtons() {
      call.mic.setAttribute('aria-label', media.micOn ? 'Mute mic' : 'Unmute mic');
      call.mic.classList.toggle('is-off', !media.micOn);
      call.cam.setAttribute('aria-label', media.camOn ? 'Turn camera off' : 'Turn camera on');
      call.cam.classList.toggle('is-off', !media.camOn);
    }
    function addTile(p, self = false) {
      const el = tile(p, self);
      if (self) call.stage.append(el); else call.stage.insertBefore(el, call.stage.querySelector('.stage-tile--self'));
      call.present.set(p.name, el);
      updateCount();
    }
    function updateCount() {
      const n = call.present.size;
      if (call.badge) call.badge.textContent = String(n);
      call.stage.dataset.count = String(Math.min(n, 9));
      call.alone.classList.toggle('sim-gone', n > 1);
    }

    // In-call popups (reference 3.3 "After joining"): both close with button[aria-label=Close][title=Close].
    function teamsDialog(kind, dismiss) {
      const close = () => h('button', { type: 'button', class: 'fui-Button subtle popup-close', 'aria-label': 'Close', title: 'Close', onclick: () => dismiss('Close') },
        h('span', { class: 'popup-close-icon', 'aria-hidden': 'true' }));
      let el;
      if (kind === 'recording_notice') {
        el = h('div', { class: 'fui-DialogSurface__backdrop' }, h('div', { class: 'fui-DialogSurface recording-notice', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'recording-notice-title' },
          close(),
          h('h2', { id: 'recording-notice-title', class: 'fui-DialogTitle', text: 'This meeting is being recorded' }),
          h('p', { text: 'Recording has started. By attending this meeting, you consent to being included in the recording.' }),
          h('a', { href: '#', text: 'Privacy policy', onclick: (e) => e.preventDefault() })));
      } else {  // teaching_bubble: a popover under the toolbar, no backdrop
        el = h('div', { class: 'teaching-bubble', role: 'dialog', 'aria-label': 'Try the new meeting experience', 'data-tid': 'teaching-popover' },
          close(),
          h('div', { class: 'teaching-bubble-title', text: 'Take notes and share reactions' }),
          h('p', { text: 'Find reactions, captions and more in the meeting controls.' }));
      }
      document.body.append(el);
      return el;
    }

    function enterCall() {
      clearTimeout(lobby.timer);
      renderCall();
      const t0 = performance.now();
      report('admitted', {}, epoch(t0));
      S.begin(t0);
      call.chat.start((sec, fn) => S.timeline.at(sec, fn));
      drain();
    }
    function join(p, tP) {
      if (S.state !== 'call' || call.present.has(p.name)) return;
      addTile(p);
      report('participant_joined', { name: p.name }, epoch(tP));
    }
    function leave(p, tP) {
      const el = call.present.get(p.name);
      if (!el) return;
      el.remove();
      call.present.delete(p.name);
      updateCount();
      report('participant_left', { name: p.name }, epoch(tP));
    }

    // ---------- endings ----------
    function retryScreen(title) {
      app.replaceChildren(shell(h('div', { class: 'center-card', 'data-tid': 'calling-retry-screen' },
        h('h2', { id: 'calling-retry-screen-title', text: title }),
        h('div', { class: 'center-actions' },
          h('button', { type: 'button', class: 'fui-Button secondary', 'data-tid': 'calling-retry-cancelbutton', text: 'Dismiss', onclick: () => { location.href = '/'; } }),
          h('button', { type: 'button', class: 'fui-Button primary', 'data-tid': 'calling-retry-rejoinbutton', text: 'Rejoin', onclick: () => location.reload() })))));
    }
    function endScreen(title) {
      app.replaceChildren(shell(h('div', { class: 'center-card', 'data-tid': 'anon-meeting-end-screen' },
        h('h2', { 'data-tid': 'anon-meeting-end-screen-title', text: title }),
        h('button', { type: 'button', class: 'fui-Button primary', 'data-tid': 'anon-meeting-end-screen-rejoin-button', text: 'Rejoin', onclick: () => location.reload() }))));
    }
    function meetingEnded(kind, sent) {
      if (kind === 'removed') { retryScreen('You\'ve been removed from this meeting'); return; }
      if (TO.end_screen !== 'post_meeting_url') { endScreen('The meeting has ended'); return; }
      // LMA's other end signal: the app navigates to a post-meeting URL (3.5).
      app.replaceChildren(shell(h('div', { class: 'center-card' }, h('div', { class: 'lobby-spinner' }))));
      sent.then(() => location.assign('/v2/postmeeting?meetingjoin=true#' + LOC.deep));
    }
    function leaveCall() { S.leaveCall(); }


    // ---------- manual control ----------
    function apply(action) {
      if (action === 'admit' || action === 'deny' || action === 'no_response') {
        if (S.state === 'waiting') { lobbyDone(action); return true; }
        return !(S.state === 'prejoin' || S.state === 'launcher');
      }
      if (action === 'end' || action === 'remove' || action === 'everyone_leave') {
        if (S.state === 'call') { S.end({ end: 'host_ended', remove: 'removed', everyone_leave: 'everyone_left' }[action]); return true; }
        return !(S.state === 'prejoin' || S.state === 'waiting' || S.state === 'launcher');
      }
      return true;
    }
    const drain = controlPoller(CFG.api, apply);

    // ---------- start: permission text, pre-join, optional no-media modal ----------
    async function start() {
      if (TO.permission_prompt) {
        app.replaceChildren(shell(h('div', { class: 'center-card permission' },
          h('div', { class: 'permission-arrow' }),
          h('h2', { text: 'Select Allow to let Microsoft Teams use your mic and camera' }),
          h('p', { text: 'This lets others see and hear you during meetings.' }))));
        report('page_loaded', { page: 'permission_prompt', client: 'v2' });
        await new Promise((r) => setTimeout(r, 1000));
      }
      if (TO.no_media_modal) { media.micOn = false; media.camOn = false; } else media.start();
      renderPrejoin();
      if (TO.no_media_modal) await noMediaModal(false);
    }
    start();
  }

  boot();
})();
