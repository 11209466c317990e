// Simulated Zoom web client, written from shared/reference/platforms.md (section 2 and 5).
// Selectors and texts mirror the live pages, including their traps; see the reference for each.
(() => {
  'use strict';

  const { epoch, h, reporter, Media, Session, lobbyOutcome, controlPoller, initials } = window.SimCore;
  const CFG = JSON.parse(document.getElementById('sim-config').textContent);
  const ZO = CFG.zoom || {};
  const root = document.getElementById('root');
  const report = reporter(CFG.known ? CFG.api : null);
  const client = CFG.client || null;
  document.body.classList.add('zm-view-' + CFG.view);

  const pageLoaded = (page, extra = {}) => report('page_loaded', { page, ...extra });

  // ---------- simple views ----------
  if (CFG.view === 'invalid') {
    root.replaceChildren(h('div', { class: 'zm-error-page' },
      h('div', { class: 'zm-logo', text: 'zoom' }),
      h('div', { class: 'error-message', role: 'alert' }, h('span', { text: 'This meeting link is invalid (3,001)' })),
      h('a', { class: 'zm-btn zm-btn--primary', href: '/', text: 'Return to Home' })));
    pageLoaded('invalid');
    return;
  }
  if (CFG.view === 'home' || CFG.view === 'signin_page') {
    const signin = CFG.view === 'signin_page';
    root.replaceChildren(h('div', { class: 'zm-error-page' }, h('div', { class: 'zm-logo', text: 'zoom' }),
      signin ? h('h1', { text: 'Sign In' }) : h('h1', { text: 'One platform to connect' }),
      signin ? h('div', { class: 'zm-signin' }, h('input', { id: 'email', type: 'email', placeholder: 'Email Address' }),
        h('input', { id: 'password', type: 'password', placeholder: 'Password' }),
        h('button', { class: 'zm-btn zm-btn--primary', id: 'js_btn_login', text: 'Sign In' })) : null));
    return;
  }

  // ---------- OneTrust cookie banner (its dark filter blocks every click until answered) ----------
  function cookieBanner() {
    if (!ZO.cookie_banner || document.cookie.includes('OptanonAlertBoxClosed=')) return;
    const close = (accepted) => {
      document.cookie = `OptanonAlertBoxClosed=${new Date().toISOString()}; path=/; max-age=31536000`;
      sdk.remove();
      report('cookies', { accepted });
    };
    const sdk = h('div', { id: 'onetrust-consent-sdk' },
      h('div', { class: 'onetrust-pc-dark-filter' }),
      h('div', { id: 'onetrust-banner-sdk', class: 'otFlat', role: 'region', 'aria-label': 'Cookie banner', tabindex: '0' },
        h('div', { id: 'onetrust-policy' },
          h('h2', { id: 'onetrust-policy-title', text: 'Cookies on Zoom' }),
          h('p', { id: 'onetrust-policy-text', text: 'Zoom uses cookies and similar technologies as described in our cookie statement. You can manage your cookie settings or exercise your rights related to cookies through our Cookies Settings.' })),
        h('div', { id: 'onetrust-button-group' },
          h('button', { id: 'onetrust-pc-btn-handler', text: 'Cookies Settings' }),
          h('button', { id: 'onetrust-reject-all-handler', text: 'Reject All', onclick: () => close(false) }),
          h('button', { id: 'onetrust-accept-btn-handler', text: 'Accept Cookies', onclick: () => close(true) }))));
    document.body.append(sdk);
    report('cookie_banner_shown');
  }

  // ---------- launcher (/j/<id>, /my/<name>) ----------
  if (CFG.view === 'launcher') {
    const browserLink = h('div', { class: 'launcher-browser sim-gone' },
      h('span', { text: 'Having issues with Zoom Workplace? ' }),
      h('a', { href: CFG.client_url, class: 'launcher-browser-link', onclick: () => report('launcher_browser_clicked'), text: 'Join from your browser' }));
    const reveal = () => browserLink.classList.remove('sim-gone');
    const launch = h('button', { class: 'zm-btn zm-btn--primary launch-meeting-btn', text: 'Launch Meeting', onclick: () => { report('launcher_launch_clicked'); setTimeout(reveal, 300); } });
    const download = h('button', { class: 'zm-btn download-btn', text: 'Download Now', onclick: () => {
      report('launcher_download_clicked');
      const a = h('a', { href: '/client/latest/ZoomInstaller.exe', download: 'ZoomInstaller.exe', class: 'sim-gone' });
      document.body.append(a); a.click(); a.remove();
      reveal();
    } });
    root.replaceChildren(h('div', { id: 'zoom-ui-frame', class: 'launcher' },
      h('header', { class: 'launcher-header' }, h('div', { class: 'zm-logo', text: 'zoom' }),
        h('nav', {}, h('a', { href: '/support', text: 'Support' }), h('span', { text: 'English' }))),
      h('main', { class: 'launcher-main' },
        h('h3', { class: 'launcher-title' }, 'Click ', h('b', { text: 'Open Zoom Workplace' }), ' on the dialog shown by your browser'),
        h('p', {}, 'If you don\u2019t see a dialog, click ', h('b', { text: 'Launch Meeting' }), ' below'),
        h('p', { class: 'launcher-legal', text: 'By clicking "Launch Meeting", you agree to our Terms of Service and Privacy Statement' }),
        launch,
        h('p', { class: 'launcher-download' }, 'Don\u2019t have Zoom Workplace installed? ', download),
        browserLink)));
    setTimeout(reveal, 2500);  // like Zoom, the browser link also shows up after a short delay
    cookieBanner();
    pageLoaded('launcher');
    return;
  }

  // ---------- the web client (React /wc/<id>/join or classic /wc/join/<id>) ----------
  const media = new Media(report);
  const VIEW = ZO.speaker_view || 'speaker';
  const AUDIO_JOIN = ZO.audio_join || 'dialog';
  const call = { present: new Map(), active: null, audioJoined: false };
  // The in-call core; remote audio is audible only once computer audio is joined (2.2 step 10).
  const S = new Session({
    cfg: CFG, report, audible: () => call.audioJoined,
    hooks: {
      join, leave, speakingOn,
      speakingOff: () => false,  // the speaker keeps the frame until someone else speaks
      dialog: zoomDialog, beforeEnd, endScreen,
      leftScreen: renderLeft,
    },
  });
  const pre = {};
  const passcodeNeeded = !!ZO.passcode && CFG.url_pwd !== ZO.passcode;

  const fail = (by, node) => {
    S.state = 'blocked';
    root.replaceChildren(node);
    report('blocked', { by });
  };
  if (ZO.signin_required) {
    fail('signin', h('div', { class: 'zm-auth-wall' }, h('div', { class: 'zm-logo', text: 'zoom' }),
      h('div', { id: 'prompt' }, h('h3', { text: 'Sign in to join this meeting' })),
      h('p', { text: 'The host requires authentication on the commercial Zoom platform to join this meeting.' }),
      h('button', { class: 'zm-btn zm-btn--primary login-btn-zoom', text: 'Sign in Zoom', onclick: () => { location.href = '/signin'; } })));
    pageLoaded('signin_required', { client, in_iframe: CFG.in_iframe });
    cookieBanner();
    return;
  }
  if (ZO.bot_wall) {
    fail('bot_wall', h('div', { class: 'zm-auth-wall zm-bot-wall' }, h('div', { class: 'zm-logo', text: 'zoom' }),
      h('h3', { text: 'We detected you may be a bot' }),
      h('p', { text: 'Automated bots aren\'t allowed to join meetings from the web client. Meeting bots must use Zoom RTMS to access meeting content.' }),
      h('iframe', { title: 'reCAPTCHA', class: 'zm-recaptcha', src: '/recaptcha/api2/anchor?ar=1&k=6Lsim&hl=en&size=normal', width: '304', height: '78' }),
      h('button', { class: 'zm-btn zm-btn--primary', text: 'Check Captcha', onclick: () => report('captcha_check_clicked') })));
    pageLoaded('bot_wall', { client, in_iframe: CFG.in_iframe });
    return;
  }

  // ----- permission portal ("shown twice: camera+mic, then mic") -----
  function permissionDialog(step) {
    return new Promise((resolve) => {
      const title = step === 1 ? 'Do you want people to see and hear you in the meeting?' : 'Do you want people to hear you in the meeting?';
      const done = (allow) => { portal.remove(); report('permission_dialog', { step, allow }); resolve(allow); };
      const portal = h('div', { class: 'pepc-permission-dialog__portal' },
        h('div', { class: 'pepc-permission-dialog', role: 'dialog', 'aria-modal': 'true', 'aria-label': title },
          h('div', { class: 'pepc-permission-dialog__title', text: title }),
          h('div', { class: 'pepc-permission-dialog__body', text: step === 1 ? 'You can still turn off your microphone and camera anytime in the meeting.' : 'You can still mute your microphone anytime in the meeting.' }),
          h('button', { class: 'zm-btn zm-btn--primary pepc-permission-dialog__allow', text: 'Allow', onclick: () => done(true) }),
          h('button', { class: 'zm-btn zm-btn--link pepc-permission-dialog__continue', text: 'Continue without microphone and camera', onclick: () => done(false) })));
      document.body.append(portal);
    });
  }

  async function askMedia() {
    if (client === 'classic') { media.micOn = false; media.camOn = false; return; }
    if (!ZO.permission_dialog) { media.start(); return; }
    if (await permissionDialog(1)) { media.start(); return; }
    const mic = await permissionDialog(2);
    media.micOn = mic; media.camOn = false;
    syncPreview();
  }

  // ----- React preview -----
  function previewButton(kind) {
    const btn = h('button', { id: kind === 'mic' ? 'preview-audio-control-button' : 'preview-video-control-button', type: 'button',
      class: 'zm-btn preview-video__control-button', onclick: () => {
        if (kind === 'mic') media.micOn = !media.micOn; else media.camOn = !media.camOn;
        if (kind === 'cam' && media.camOn) media.start();
        report(kind + '_toggled', { on: kind === 'mic' ? media.micOn : media.camOn, in: S.state });
        media.sync(); syncPreview();
      } }, h('i', { class: 'zm-icon' }), h('span', { class: 'preview-video__control-text' }));
    return btn;
  }
  function syncPreview() {
    const a = document.getElementById('preview-audio-control-button');
    const v = document.getElementById('preview-video-control-button');
    if (a) {
      a.setAttribute('aria-label', media.micOn ? 'Mute' : 'Unmute');
      a.querySelector('i').className = 'zm-icon ' + (media.micOn ? 'SvgAudioMute' : 'SvgAudioUnmute');
      a.querySelector('span').textContent = media.micOn ? 'Mute' : 'Unmute';
    }
    if (v) {
      v.setAttribute('aria-label', media.camOn ? 'Stop Video' : 'Start Video');
      v.querySelector('i').className = 'zm-icon ' + (media.camOn ? 'SvgVideoOn' : 'SvgVideoOff');
      v.querySelector('span').textContent = media.camOn ? 'Stop Video' : 'Start Video';
    }
    document.body.classList.toggle('cam-off', !media.camOn || !media.stream);
  }
  media.onchange = syncPreview;

  function renderReact() {
    pre.name = h('input', { id: 'input-for-name', type: 'text', class: 'preview-meeting-info-field-input', placeholder: 'Your Name',
      'aria-label': 'Your Name', autocomplete: 'off', maxlength: '64' });
    pre.pwd = passcodeNeeded ? h('input', { id: 'input-for-pwd', type: 'password', class: 'preview-meeting-info-field-input', placeholder: 'Meeting Passcode', 'aria-label': 'Meeting Passcode', autocomplete: 'off' }) : null;
    pre.error = h('div', { class: 'preview-meeting-info-field-error sim-gone', role: 'alert' });
    pre.join = h('button', { type: 'button', class: 'zm-btn preview-join-button zm-btn--default zm-btn__outline--blue disabled', disabled: true, text: 'Join' });
    const sync = () => {
      const off = pre.name.value.trim() === '';
      pre.join.disabled = off;
      pre.join.classList.toggle('disabled', off);
    };
    for (const ev of ['input', 'change', 'keyup']) pre.name.addEventListener(ev, sync);
    for (const input of [pre.name, pre.pwd]) {
      if (input) input.addEventListener('keydown', (e) => { if (e.key === 'Enter' && !pre.join.disabled) onJoin(); });
    }
    pre.join.addEventListener('click', onJoin);
    root.replaceChildren(h('div', { class: 'preview-new-flow' },
      h('div', { class: 'preview-new-flow-content' },
        h('div', { class: 'preview-video' },
          media.video(), h('div', { class: 'preview-video__avatar', text: 'Camera is off' }),
          h('div', { class: 'preview-video__control-bar' }, previewButton('mic'), previewButton('cam'))),
        h('div', { class: 'preview-meeting-info' },
          h('h1', { class: 'preview-meeting-info-title', text: 'Enter Meeting Info' }),
          h('div', { class: 'preview-meeting-info-field' }, h('label', { for: 'input-for-name', text: 'Your Name' }), pre.name),
          pre.pwd ? h('div', { class: 'preview-meeting-info-field' }, h('label', { for: 'input-for-pwd', text: 'Meeting Passcode' }), pre.pwd) : null,
          pre.error,
          h('label', { class: 'preview-remember' }, h('input', { type: 'checkbox' }), ' Remember my name for future meetings'),
          pre.join,
          h('p', { class: 'preview-legal', text: 'By clicking "Join", you agree to our Terms of Service and Privacy Statement' })))));
    syncPreview();
  }

  function renderClassic() {
    pre.name = h('input', { id: 'inputname', type: 'text', class: 'form-control', placeholder: 'Your Name', autocomplete: 'off', maxlength: '64' });
    pre.pwd = passcodeNeeded ? h('input', { id: 'inputpasscode', type: 'password', class: 'form-control', placeholder: 'Meeting Passcode', autocomplete: 'off' }) : null;
    pre.error = h('div', { class: 'form-error sim-gone', role: 'alert' });
    pre.join = h('button', { id: 'joinBtn', class: 'btn btn-primary user submit', type: 'button', text: 'Join', onclick: onJoin });
    for (const input of [pre.name, pre.pwd]) if (input) input.addEventListener('keydown', (e) => { if (e.key === 'Enter') onJoin(); });
    root.replaceChildren(h('div', { class: 'classic-join' }, h('div', { class: 'zm-logo', text: 'zoom' }),
      h('form', { id: 'join-form', class: 'form', onsubmit: (e) => { e.preventDefault(); onJoin(); } },
        h('h1', { text: 'Join Meeting' }),
        h('div', { class: 'form-group' }, pre.name),
        pre.pwd ? h('div', { class: 'form-group' }, pre.pwd) : null,
        pre.error,
        h('div', { class: 'form-group', id: 'recaptcha' }),
        pre.join)));
  }

  function showError(text) {
    pre.error.textContent = text;
    pre.error.classList.remove('sim-gone');
  }

  let joinSnapshot = null;
  function onJoin() {
    if (S.state !== 'prejoin') return;
    const name = pre.name.value.trim();
    if (!name) { if (client === 'classic') showError('Please enter your name'); return; }
    if (ZO.passcode) {
      const typed = pre.pwd ? pre.pwd.value : CFG.url_pwd;
      const ok = typed === ZO.passcode;
      report('passcode_submitted', { passcode: typed, source: pre.pwd ? 'typed' : 'url', ok });
      if (!ok) { showError('Passcode wrong'); return; }
    }
    const t = epoch();
    media.name = name;
    joinSnapshot = { name, mic_on: media.micOn, camera_on: media.camOn };
    report('join_clicked', media.camOn ? media.meanRgb().then((rgb) => ({ ...joinSnapshot, camera_mean_rgb: rgb })) : { ...joinSnapshot, camera_mean_rgb: null }, t);
    if (CFG.lobby.mode === 'open' && !ZO.host_not_started) { enterCall(); return; }
    renderWaiting();
  }

  // ---------- waiting room (inside .meeting-app, like the real one) ----------
  const lobby = {};
  function renderWaiting() {
    S.state = 'waiting';
    const text = ZO.host_not_started ? 'Waiting for the host to start this meeting' : 'Please wait, the meeting host will let you in soon.';
    lobby.root = h('div', { class: 'meeting-app' },
      h('div', { class: 'wr-container' },
        h('div', { class: 'wr-header' }, h('div', { class: 'zm-logo', text: 'zoom' }),
          h('button', { class: 'zm-btn wr-leave-btn', type: 'button', text: 'Leave', onclick: () => { report('left', { from: 'waiting' }); S.state = 'left'; renderLeft(); } })),
        h('div', { class: 'wr-content' },
          h('div', { class: 'wr-default__icon' }),
          h('h2', { class: 'wr-default__text', text }),
          h('div', { class: 'wr-meeting-title', text: CFG.title }),
          h('div', { class: 'wr-video' }, media.video()))));
    root.replaceChildren(lobby.root);
    report('waiting', { text });
    const first = lobbyOutcome(CFG.lobby);
    if (first) lobby.timer = setTimeout(() => lobbyDone(first[0]), first[1] * 1000);
    drain();
  }
  function lobbyDone(kind) {
    if (S.state !== 'waiting') return;
    clearTimeout(lobby.timer);
    if (kind === 'admit') { enterCall(); return; }
    if (kind === 'no_response') { report('no_response', { text: null }); return; }  // Zoom just keeps waiting
    S.state = 'denied';
    modal('You have been removed', 'The host has removed you from the waiting room.', () => { location.href = '/'; });
    report('denied', { text: 'You have been removed' });
  }

  // ---------- modals (.zm-modal with a primary OK) ----------
  function modal(title, body, onOk) {
    const m = h('div', { class: 'zm-modal-portal' }, h('div', { class: 'zm-modal zm-modal-legacy', role: 'dialog', 'aria-modal': 'true' },
      h('div', { class: 'zm-modal-body' },
        h('div', { class: 'zm-modal-body-title', text: title }),
        body ? h('div', { class: 'zm-modal-body-content', text: body }) : null),
      h('div', { class: 'zm-modal-footer' },
        h('button', { class: 'zm-btn zm-btn-legacy zm-btn--primary zm-btn__outline--blue', type: 'button', text: 'OK', onclick: () => { m.remove(); onOk(); } }))));
    document.body.append(m);
    return m;
  }

  // In-call notices (reference 2.2 step 10): .zm-modal popups on their own overlay portal, which
  // takes the pointer events of everything under it.
  function zoomDialog(kind, dismiss) {
    const primary = (text) => h('button', { class: 'zm-btn zm-btn-legacy zm-btn--primary zm-btn__outline--blue', type: 'button', text, onclick: () => dismiss(text) });
    let dlg;
    if (kind === 'recording_notice') {
      dlg = h('div', { class: 'zm-modal zm-modal-legacy', role: 'dialog', 'aria-modal': 'true', 'aria-label': 'Recording notice' },
        h('div', { class: 'zm-modal-body' },
          h('div', { class: 'zm-modal-body-title', text: 'This meeting is being recorded' }),
          h('div', { class: 'zm-modal-body-content', text: 'The host is recording this meeting. By staying in the meeting, you consent to being recorded.' })),
        h('div', { class: 'zm-modal-footer' },
          h('button', { class: 'zm-btn zm-btn-legacy zm-btn--default', type: 'button', text: 'Leave Meeting', onclick: () => { dismiss('Leave Meeting'); leaveCall(); } }),
          primary('Got it')));
    } else {  // camera_not_detected
      dlg = h('div', { class: 'zm-modal zm-modal-legacy', role: 'dialog', 'aria-modal': 'true', 'aria-label': 'Cannot detect your camera' },
        h('button', { class: 'zm-btn zm-modal-close', type: 'button', 'aria-label': 'close', onclick: () => dismiss('close') }),
        h('div', { class: 'zm-modal-body' },
          h('div', { class: 'zm-modal-body-title', text: 'Cannot detect your camera' }),
          h('div', { class: 'zm-modal-body-content', text: 'Please check that your camera is connected and not being used by another application.' })),
        h('div', { class: 'zm-modal-footer' }, primary('OK')));
    }
    const portal = h('div', { class: 'zm-modal-portal' }, dlg);
    document.body.append(portal);
    return portal;
  }

  // ---------- in call: speaker, gallery or single view (reference 2.4) ----------

  function avatar(p, self) {
    return h('div', { class: 'video-avatar__avatar' + (self ? ' video-avatar__avatar--self' : ''), 'data-name': p.name },
      self ? media.video() : null,
      h('div', { class: 'video-avatar__avatar-img', style: `background:${p.color}`, text: initials(p.name) }),
      h('div', { class: 'video-avatar__avatar-footer' }, h('span', { role: 'none', text: p.name })));
  }

  function mainLayout() {
    if (VIEW === 'gallery') {
      call.bar = h('div', { class: 'speaker-bar-container__horizontal-view-wrap gallery-video-container__canvas' });
      return h('div', { class: 'main-layout gallery-view' }, h('div', { class: 'gallery-video-container__wrap' }, call.bar));
    }
    if (VIEW === 'single') {
      call.frame = h('div', { class: 'single-main-container__video-frame' });
      return h('div', { class: 'main-layout single-view' }, h('div', { class: 'single-main-container__wrap' }, call.frame));
    }
    call.bar = h('div', { class: 'speaker-bar-container__horizontal-view-wrap' });
    call.frame = h('div', { class: 'speaker-active-container__video-frame' });
    return h('div', { class: 'main-layout speaker-view' },
      h('div', { class: 'speaker-bar-container__wrap' }, call.bar),
      h('div', { class: 'speaker-active-container__wrap' }, call.frame));
  }

  // The More menu (reference 2.6, ATT): "Captions" opens "Your caption settings", whose
  // "Show Captions" turns them on. A call whose host did not enable captions has no Captions item.
  function toggleMore() {
    if (call.menu) { call.menu.remove(); call.menu = null; return; }
    const item = (label, text, onclick, extra = {}) => h('li', { role: 'none' },
      h('a', { role: 'menuitem', href: 'javascript:;', class: 'dropdown-item', 'aria-label': label, text, onclick, ...extra }));
    const captionSettings = () => {
      const shown = call.cc.on;
      call.menu.append(h('ul', { role: 'menu', class: 'dropdown-menu caption-settings', 'aria-label': 'Your caption settings' },
        item(`Your caption settings grouping ${shown ? 'Hide' : 'Show'} Captions`, `${shown ? 'Hide' : 'Show'} Captions`,
          () => { call.cc.toggle(); call.menu.remove(); call.menu = null; }),
        item('Your caption settings grouping View Full Transcript', 'View Full Transcript', () => {})));
    };
    if (!call.escape) {
      call.escape = true;
      document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && call.menu) { call.menu.remove(); call.menu = null; } });
    }
    call.menu = h('ul', { role: 'menu', class: 'dropdown-menu more-menu', 'aria-label': 'More meeting control' },
      item('Settings', 'Settings', () => {}),
      call.cc.available ? item('Captions', 'Captions', captionSettings, { 'aria-haspopup': 'true' }) : null,
      item('Gallery View', 'Gallery View', () => {}));
    call.root.append(call.menu);
  }

  function renderCall() {
    call.cc = new window.SimCaptions({ platform: 'zoom', cfg: CFG.captions, report });
    call.chatSide = h('div', { class: 'chat-side sim-gone' });
    call.chat = new window.SimChat({ platform: 'zoom', cfg: CFG.chat, report, selfName: media.name }).mount(call.chatSide);
    S.captions = call.cc;
    const self = { name: media.name, color: CFG.self_color };
    call.self = self;
    call.bar = null; call.frame = null;
    const layout = mainLayout();
    call.counter = h('span', { text: '1' });
    call.partsBtn = h('button', { type: 'button', class: 'footer-button-base__button ax-outline footer-button__button', 'aria-label': 'open the participants list pane,[1] particpants' },
      h('div', { class: 'footer-button__participants-icon' }, h('i', { class: 'zm-icon SvgParticipants' }),
        h('div', { class: 'footer-button__number-counter' }, call.counter)),
      h('span', { class: 'footer-button-base__button-label', text: 'Participants' }));
    call.audioBtn = h('button', { type: 'button', class: 'join-audio-container__btn footer-button-base__button ax-outline', onclick: onFooterAudio },
      h('i', { class: 'zm-icon' }), h('span', { class: 'footer-button-base__button-label' }));
    call.videoBtn = h('button', { type: 'button', class: 'send-video-container__btn footer-button-base__button ax-outline', onclick: () => {
      media.camOn = !media.camOn; if (media.camOn) media.start(); media.sync(); syncFooter(); report('cam_toggled', { on: media.camOn, in: S.state });
    } }, h('i', { class: 'zm-icon' }), h('span', { class: 'footer-button-base__button-label' }));
    call.leaveBtn = h('button', { type: 'button', class: 'footer-button-base__button ax-outline footer-button__button', 'aria-label': 'Leave', onclick: showLeaveOptions },
      h('span', { class: 'footer-button-base__button-label', text: 'Leave' }));
    const fb = (label, text, onclick) => h('button', { type: 'button', class: 'footer-button-base__button ax-outline footer-button__button', 'aria-label': label, onclick },
      h('i', { class: 'zm-icon' }), h('span', { class: 'footer-button-base__button-label', text }));
    // The reference's More control is a div wrapping its button (the aria-label's trailing space is real).
    const more = h('div', { class: 'more-button', 'aria-label': 'More meeting control ', role: 'button', tabindex: '0', onclick: toggleMore },
      h('i', { class: 'zm-icon' }), h('span', { class: 'footer-button-base__button-label', text: 'More' }));
    call.root = h('div', { class: 'meeting-app' },
      h('div', { class: 'meeting-client' }, h('div', { class: 'meeting-client-inner' },
        h('div', { class: 'meeting-info-container' }, h('span', { class: 'meeting-info-icon' }), h('span', { class: 'meeting-info-title', text: CFG.title }),
          h('button', { class: 'full-screen-widget__button', type: 'button', 'aria-label': 'View', text: 'View' })),
        layout,
        call.cc.mount(), call.chatSide,
        h('footer', { id: 'wc-footer', class: 'footer', role: 'toolbar' },
          h('div', { id: 'foot-bar', class: 'footer__inner' },
            h('div', { class: 'footer__leave-section', 'footer-section': 'left' },
              h('div', { class: 'join-audio-container' }, call.audioBtn),
              h('div', { class: 'send-video-container' }, call.videoBtn)),
            h('div', { class: 'footer__btns-container', 'footer-section': 'center' },
              call.partsBtn, call.chat.button('footer-button-base__button ax-outline footer-button__button'), fb('Share Screen', 'Share'), fb('Record', 'Record'),
              fb('Reactions', 'Reactions'), more),
            h('div', { class: 'footer__right-section', 'footer-section': 'right' }, call.leaveBtn))))));
    root.replaceChildren(call.root);
    addTile(self, true);
    syncFooter();
  }

  function addTile(p, self = false) {
    let tile = null;
    if (call.bar) {
      tile = h('div', { class: 'speaker-bar-container__video-frame' }, avatar(p, self));
      if (self) call.bar.append(tile);
      else call.bar.insertBefore(tile, call.bar.lastChild);
    }
    call.present.set(p.name, { p, tile, self });
    updateCount();
  }

  function setActive(name, reason) {
    const ind = epoch();
    if (call.active === name || !call.present.has(name)) return ind;
    call.active = name;
    const entry = call.present.get(name);
    if (call.frame) call.frame.replaceChildren(avatar(entry.p, entry.self));
    for (const [n, e] of call.present) if (e.tile) e.tile.classList.toggle('speaker-bar-container__video-frame--active', n === name);
    report('active_speaker', { name, reason }, ind);
    return ind;
  }
  // A stuck speaker keeps the active-speaker frame: nobody else gets it while they are present.
  function speakingOn(name) {
    if (call.active !== name && call.active && S.isStuck(call.active) && call.present.has(call.active)) return false;
    return setActive(name, 'speech');
  }
  const firstOther = () => [...call.present.keys()].find((n) => !call.present.get(n).self) || media.name;

  function updateCount() {
    const n = call.present.size;
    call.counter.textContent = String(n);
    call.partsBtn.setAttribute('aria-label', `open the participants list pane,[${n}] particpants`);
  }

  function syncFooter() {
    if (!call.audioBtn) return;
    const label = call.audioJoined ? (media.micOn ? 'Mute' : 'Unmute') : 'join audio';
    call.audioBtn.setAttribute('aria-label', label);
    call.audioBtn.querySelector('span').textContent = call.audioJoined ? label : 'Join Audio';
    call.audioBtn.querySelector('i').className = 'zm-icon ' + (call.audioJoined ? (media.micOn ? 'SvgAudioMute' : 'SvgAudioUnmute') : 'SvgJoinAudio');
    call.videoBtn.setAttribute('aria-label', media.camOn ? 'stop my video' : 'start my video');
    call.videoBtn.querySelector('span').textContent = media.camOn ? 'Stop Video' : 'Start Video';
    call.videoBtn.querySelector('i').className = 'zm-icon ' + (media.camOn ? 'SvgVideoOn' : 'SvgVideoOff');
  }

  function joinAudioDialog() {
    if (call.audioDialog || call.audioJoined || S.state !== 'call') return;
    const close = () => { call.audioDialog.remove(); call.audioDialog = null; };
    const text = ZO.audio_button_text || 'Join Audio by Computer';
    call.audioDialog = h('div', { class: 'ReactModal__Overlay' }, h('div', { class: 'ReactModal__Content join-dialog', role: 'dialog', 'aria-label': 'Join Audio' },
      h('button', { class: 'zm-btn join-dialog__close', type: 'button', 'aria-label': 'close', onclick: () => { close(); report('audio_dialog_closed'); } }),
      h('div', { class: 'join-dialog__tabs', role: 'tablist' },
        h('button', { role: 'tab', 'aria-selected': 'false', class: 'tab-bar-node', text: 'Phone Call' }),
        h('button', { role: 'tab', 'aria-selected': 'true', class: 'tab-bar-node tab-bar-node--active', text: 'Computer Audio' })),
      h('div', { class: 'join-audio-by-voip' },
        h('button', { type: 'button', class: 'zm-btn join-audio-by-voip__join-btn zm-btn--primary zm-btn__outline--white zm-btn--lg', text, onclick: () => { close(); joinAudio(); } }))));
    call.root.append(call.audioDialog);
    report('audio_dialog_shown', { text });
  }
  function onFooterAudio() {
    if (!call.audioJoined) { report('footer_audio_clicked'); joinAudioDialog(); return; }
    media.micOn = !media.micOn;
    report('mic_toggled', { on: media.micOn, in: S.state });
    syncFooter();
  }
  function audioJoined(t, auto) {
    call.audioJoined = true;
    S.speech.setAudible(true);
    if (S.speech.ctx) S.speech.ctx.resume().catch(() => {});
    call.root.append(h('audio', { id: 'wc-audio-output', class: 'sim-remote-audio', autoplay: true }));
    report('audio_joined', { mic_on: media.micOn, auto }, t);
    syncFooter();
    for (const seg of S.speech.segments) if (seg.on && !seg.done) { S.syncMarker(seg); break; }
  }
  function joinAudio() {
    if (call.audioJoined || S.state !== 'call') return;
    audioJoined(epoch(), false);
  }

  function showLeaveOptions() {
    if (call.leaveMenu) { call.leaveMenu.remove(); call.leaveMenu = null; return; }
    call.leaveMenu = h('div', { class: 'leave-meeting-options', role: 'menu' },
      h('div', { class: 'leave-meeting-options__inner' },
        h('button', { type: 'button', 'aria-label': '', class: 'zm-btn leave-meeting-options__btn leave-meeting-options__btn--default leave-meeting-options__btn--danger', text: 'Leave Meeting', onclick: leaveCall })));
    call.leaveBtn.parentElement.append(call.leaveMenu);
  }

  function enterCall() {
    clearTimeout(lobby.timer);
    renderCall();
    const t0 = performance.now();
    report('admitted', {}, epoch(t0));
    S.state = 'call';
    // "Automatically join audio by computer": in before the first sound can play.
    if (AUDIO_JOIN === 'auto') audioJoined(epoch(t0), true);
    S.begin(t0);
    call.chat.start((sec, fn) => S.timeline.at(sec, fn));
    if (!call.active) setActive(firstOther(), 'initial');
    if (AUDIO_JOIN === 'dialog') joinAudioDialog();
    else if (AUDIO_JOIN === 'late_dialog') S.timeline.at(ZO.audio_dialog_delay, joinAudioDialog);
    drain();
  }
  function join(p, tP) {
    if (S.state !== 'call' || call.present.has(p.name)) return;
    addTile(p);
    report('participant_joined', { name: p.name }, epoch(tP));
    if (call.active === media.name && call.present.size === 2) setActive(p.name, 'joined');
  }
  function leave(p, tP) {
    const e = call.present.get(p.name);
    if (!e) return;
    if (e.tile) e.tile.remove();
    call.present.delete(p.name);
    updateCount();
    report('participant_left', { name: p.name }, epoch(tP));
    if (call.active === p.name) {
      call.active = null;
      setActive(firstOther(), 'left');
    }
  }

  // The end modal can open over a notice still on screen (zoom.end_over_dialog).
  function beforeEnd() {
    if (!ZO.end_over_dialog) return null;
    const open = [...S.dialogs.values()].some((e) => e.el && e.el.isConnected && e.el.querySelector('.zm-modal'));
    if (!open) S.openDialog('recording_notice', { reason: 'end_over_dialog' });
    return 'keep_dialogs';
  }
  function endScreen(kind) {
    root.replaceChildren(h('div', { class: 'meeting-ended-bg' }));
    if (kind === 'removed') modal('You have been removed', 'The host removed you from this meeting.', () => { location.href = '/'; });
    else modal('This meeting has been ended by host', null, () => { location.href = '/'; });
  }
  function renderLeft() {
    root.replaceChildren(h('div', { class: 'zm-error-page post-meeting' }, h('div', { class: 'zm-logo', text: 'zoom' }),
      h('h3', { text: 'You have left the meeting' }),
      h('a', { class: 'zm-btn zm-btn--primary', href: location.pathname + location.search.replace(/[?&]_frame=1/, ''), text: 'Rejoin' })));
  }
  function leaveCall() { S.leaveCall(); }

  // ---------- manual control ----------
  function apply(action) {
    if (action === 'admit' || action === 'deny' || action === 'no_response') {
      if (S.state === 'waiting') { lobbyDone(action); return true; }
      return S.state !== 'prejoin';
    }
    if (action === 'end' || action === 'remove' || action === 'everyone_leave') {
      if (S.state === 'call') { S.end({ end: 'host_ended', remove: 'removed', everyone_leave: 'everyone_left' }[action]); return true; }
      return !(S.state === 'prejoin' || S.state === 'waiting');
    }
    return true;
  }
  const drain = CFG.known ? controlPoller(CFG.api, apply) : () => {};

  if (client === 'classic') renderClassic(); else renderReact();
  pageLoaded(client === 'classic' ? 'classic_prejoin' : 'prejoin', { client, in_iframe: !!CFG.in_iframe });
  cookieBanner();
  askMedia();
})();
