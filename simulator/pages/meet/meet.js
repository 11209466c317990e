// Simulated Google Meet page, written from shared/reference/platforms.md (section 1 and 5).
// Selectors and texts mirror the live page, including its traps; see the reference for each.
(() => {
  'use strict';

  const CFG = JSON.parse(document.getElementById('sim-config').textContent);
  const app = document.getElementById('yDmH0d');
  const epoch = (p = performance.now()) => (performance.timeOrigin + p) / 1000;

  // ---------- ground truth reporting (ordered: each POST waits for the previous) ----------
  let postChain = Promise.resolve();
  function report(type, data = {}, t = epoch()) {
    if (!CFG.known) return;
    postChain = postChain.then(async () => {
      const extra = await data;
      await fetch(CFG.api + '/events', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type, t, ...extra }),
        keepalive: true,
      }).catch(() => {});
    });
  }

  // ---------- tiny DOM helpers ----------
  function h(tag, attrs = {}, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const kid of kids.flat()) if (kid !== null && kid !== undefined) el.append(kid);
    return el;
  }
  // Icons keep Meet's ligature text (e.g. "call_end") for bots that read it; CSS draws the glyph.
  const icon = (name) => h('i', { class: 'google-symbols', 'aria-hidden': 'true', 'data-icon': name, text: name });
  const gone = (el) => el && el.classList.add('sim-gone');

  const clockText = () => new Date().toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit' });
  const homeButton = () => h('button', { class: 'btn-text', jsname: 'EszDEe', onclick: goHome }, h('span', { text: 'Return to home screen' }));

  let state = 'prejoin';
  function goHome() {
    if (state === 'waiting' || state === 'prejoin') report('left', { from: state });
    if (state === 'call') leaveCall();
    location.href = '/';
  }

  // ---------- error pages ----------
  function errorPage(title, body) {
    state = 'error';
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

  // ---------- local media ----------
  const media = { stream: null, micOn: true, camOn: true };
  const camReady = navigator.mediaDevices && navigator.mediaDevices.getUserMedia
    ? navigator.mediaDevices.getUserMedia({ video: true, audio: false }).then((s) => {
      media.stream = s;
      for (const v of document.querySelectorAll('video.self-video')) v.srcObject = s;
      syncCamera();
      return s;
    }).catch((err) => { media.camOn = false; syncCamera(); report('camera_error', { error: String(err) }); return null; })
    : Promise.resolve(null);

  // Mean colour of one camera frame, so tests can tell the bot's avatar from the default fake feed.
  async function cameraMeanRgb() {
    const stream = await Promise.race([camReady, new Promise((r) => setTimeout(() => r(null), 3000))]);
    if (!stream) return null;
    let video = [...document.querySelectorAll('video.self-video')].find((v) => v.readyState >= 2 && v.videoWidth);
    if (!video) {
      video = h('video', { muted: true, playsinline: true });
      video.muted = true;
      video.srcObject = stream;
      await video.play().catch(() => {});
      const t0 = performance.now();
      while ((video.readyState < 2 || !video.videoWidth) && performance.now() - t0 < 3000) {
        await new Promise((r) => setTimeout(r, 30));
      }
      if (video.readyState < 2) return null;
    }
    const w = 160, hgt = 90;
    const c = h('canvas', { width: w, height: hgt });
    const g = c.getContext('2d', { willReadFrequently: true });
    g.drawImage(video, 0, 0, w, hgt);
    const d = g.getImageData(0, 0, w, hgt).data;
    let r = 0, gr = 0, b = 0;
    for (let i = 0; i < d.length; i += 4) { r += d[i]; gr += d[i + 1]; b += d[i + 2]; }
    const n = d.length / 4;
    return [r / n, gr / n, b / n].map((x) => Math.round(x * 10) / 10);
  }

  function toggleButton(kind) {
    const on = kind === 'mic' ? media.micOn : media.camOn;
    const word = kind === 'mic' ? 'microphone' : 'camera';
    const btn = h('button', {
      class: 'round-btn toggle-' + kind, jsname: kind === 'mic' ? 'hw0c9' : 'psRWwc',
      'aria-label': (on ? 'Turn off ' : 'Turn on ') + word, 'data-is-muted': String(!on),
      'data-tooltip': (on ? 'Turn off ' : 'Turn on ') + word,
      onclick: () => {
        if (kind === 'mic') media.micOn = !media.micOn; else media.camOn = !media.camOn;
        report(kind + '_toggled', { on: kind === 'mic' ? media.micOn : media.camOn, in: state });
        syncCamera();
        syncToggles();
      },
    }, icon(''));
    return btn;
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
  function syncCamera() {
    if (media.stream) for (const t of media.stream.getVideoTracks()) t.enabled = media.camOn;
    document.body.classList.toggle('cam-off', !media.camOn || !media.stream);
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
  let pending = [];  // control actions that arrived before they could apply

  function renderPrejoin() {
    state = 'prejoin';
    const video = h('video', { class: 'self-video', autoplay: true, muted: true, playsinline: true });
    video.muted = true;
    if (media.stream) video.srcObject = media.stream;
    const initial = h('div', { class: 'preview-off', text: 'Camera is off' });
    lobby.input = h('input', {
      type: 'text', jsname: 'YPqjbf', class: 'name-input', 'aria-label': 'Your name', placeholder: 'Your name',
      autocomplete: 'off', spellcheck: 'false', maxlength: '60',
    });
    lobby.join = h('button', { class: 'btn-primary join-btn', jsname: 'Qx7uuf', disabled: true },
      h('span', { class: 'UywwFc-vQzf8d', text: CFG.lobby.mode === 'open' ? 'Join now' : 'Ask to join' }));
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
        h('div', { class: 'preview' }, video, initial,
          h('div', { class: 'preview-name', text: '' }),
          h('div', { class: 'preview-top' }, moreButton()),
          h('div', { class: 'preview-controls' }, toggleButton('mic'), toggleButton('cam'), leaveButton(goHome)),
          h('div', { class: 'preview-effects' }, effectsButton())),
        lobby.panel)));
    syncToggles();
    syncCamera();
    report('page_loaded', { page: 'prejoin' });
  }

  function onJoinClick() {
    if (state !== 'prejoin' || lobby.join.disabled) return;
    const t = epoch();
    const name = lobby.input.value.trim();
    const snapshot = { name, mic_on: media.micOn, camera_on: media.camOn };
    report('join_clicked', media.camOn
      ? cameraMeanRgb().then((rgb) => ({ ...snapshot, camera_mean_rgb: rgb }))
      : { ...snapshot, camera_mean_rgb: null }, t);
    media.name = name;
    if (CFG.lobby.mode === 'open') { enterCall(); return; }
    renderWaiting();
  }

  function renderWaiting() {
    state = 'waiting';
    gone(lobby.input.closest('label'));
    gone(lobby.join.closest('.join-actions'));
    lobby.panel.querySelector('.ready').textContent = 'Asking to be let in...';
    lobby.waitText = h('div', { class: 'wait-text', jsname: 'r4nke' }, h('span', { text: 'You\u2019ll join the call when someone lets you in' }));
    lobby.home = h('div', { class: 'join-actions' }, homeButton());
    lobby.panel.insertBefore(lobby.waitText, lobby.panel.querySelector('.meeting-title'));
    lobby.panel.insertBefore(lobby.home, lobby.panel.querySelector('.meeting-title'));
    report('waiting');
    const outcomes = [['admit', CFG.lobby.admit_after], ['deny', CFG.lobby.deny_after], ['no_response', CFG.lobby.no_response_after]]
      .filter(([, s]) => s !== null && s !== undefined).sort((a, b) => a[1] - b[1]);
    if (outcomes.length) lobby.timer = setTimeout(() => lobbyOutcome(outcomes[0][0]), outcomes[0][1] * 1000);
    drainPending();
  }

  function lobbyOutcome(kind) {
    if (state !== 'waiting') return;
    clearTimeout(lobby.timer);
    if (kind === 'admit') { enterCall(); return; }
    state = kind === 'deny' ? 'denied' : 'no_response';
    // The waiting texts stay in the DOM (hidden): bots must look for the denial first.
    const heading = lobby.panel.querySelector('.ready');
    heading.classList.add('sim-gone');
    gone(lobby.waitText);
    const msg = kind === 'deny' ? 'Someone in the call denied your request to join' : 'No one responded to your request to join the call';
    lobby.panel.insertBefore(h('h2', { class: 'denied', role: 'alert', text: msg }), heading);
    report(kind === 'deny' ? 'denied' : 'no_response', { text: msg });
  }

  // ---------- audio: WebAudio straight to the destination, scheduled on the audio clock ----------
  const audio = { ctx: null };
  try {
    audio.ctx = new AudioContext({ latencyHint: 'interactive' });
    audio.ctx.resume().catch(() => {});
    document.addEventListener('pointerdown', () => audio.ctx.resume().catch(() => {}), { once: true });
  } catch (e) { audio.ctx = null; }

  // performance.now() at which the sample at context time T leaves the output (includes output latency).
  function ctxToPerf(T) {
    const ctx = audio.ctx;
    const ts = ctx.getOutputTimestamp ? ctx.getOutputTimestamp() : null;
    if (ts && ts.performanceTime > 0 && ts.contextTime > 0) return ts.performanceTime + (T - ts.contextTime) * 1000;
    const lat = (ctx.baseLatency || 0) + (ctx.outputLatency || 0);
    return performance.now() + (T - ctx.currentTime + lat) * 1000;
  }
  const perfToCtx = (P) => { const T0 = audio.ctx.currentTime; return T0 + (P - ctxToPerf(T0)) / 1000; };

  const segments = CFG.speech.map((s, index) => ({ ...s, index, buffer: null, src: null, startP: null, endP: null, on: false, done: false }));
  const buffersReady = Promise.all(segments.map(async (seg) => {
    if (!audio.ctx) return;
    try {
      const r = await fetch(seg.audio);
      seg.buffer = await audio.ctx.decodeAudioData(await r.arrayBuffer());
    } catch (e) { report('audio_error', { index: seg.index, error: String(e) }); }
  }));

  // ---------- in call ----------
  const call = { t0: 0, present: new Map(), tiles: new Map(), speaking: new Map(), timers: [], tick: null, captions: false };
  const byName = new Map(CFG.participants.map((p) => [p.name, p]));

  function enterCall() {
    state = 'call';
    clearTimeout(lobby.timer);
    renderCall();
    call.t0 = performance.now();
    report('admitted', {}, epoch(call.t0));
    for (const p of CFG.participants) {
      if (p.joins_at <= 0) join(p, call.t0);
      else at(p.joins_at, () => join(p, call.t0 + p.joins_at * 1000));
      if (p.leaves_at !== null && p.leaves_at !== undefined) at(p.leaves_at, () => leave(p, call.t0 + p.leaves_at * 1000));
    }
    if (CFG.end.kind !== 'none' && CFG.end.at !== null) at(CFG.end.at, () => endMeeting(CFG.end.kind));
    if (CFG.consent_dialog) showConsent();
    if (audio.ctx) audio.ctx.resume().catch(() => {});
    scheduleTick();
    drainPending();
  }
  const at = (sec, fn) => call.timers.push(setTimeout(fn, Math.max(0, call.t0 + sec * 1000 - performance.now())));

  function renderCall() {
    call.grid = h('div', { class: 'grid', jsname: 'E2KThb' });
    call.captionsBox = h('div', { class: 'captions sim-gone', role: 'region', tabindex: '0', 'aria-label': 'Captions' });
    call.peopleBadge = h('div', { class: 'egzc7c', text: '1' });
    call.peopleBtn = h('button', { class: 'icon-btn', jsname: 'A5il2e', 'aria-label': 'People - 1 joined', 'data-tooltip': 'Show everyone', onclick: () => togglePanel('people') },
      icon('people'), call.peopleBadge);
    call.captionsBtn = h('button', { class: 'round-btn captions-btn', jsname: 'r8qRAd', 'aria-label': 'Turn on captions', 'data-tooltip': 'Turn on captions', onclick: toggleCaptions }, icon('closed_caption_off'));
    call.avatarCount = h('div', { class: 'avatar-count', 'data-avatar-count': '1' }, call.peopleBtn);
    call.panel = h('aside', { class: 'side-panel sim-gone' });
    call.clock = h('span', { class: 'clock', text: clockText() });
    call.timers.push(setInterval(() => { call.clock.textContent = clockText(); }, 10000));
    call.root = h('div', { class: 'call', jsname: 'Qv6vKc' },
      h('div', { class: 'stage' }, call.grid, call.panel),
      call.captionsBox,
      h('div', { class: 'bottom-bar' },
        h('div', { class: 'call-info' }, call.clock, h('span', { class: 'sep', text: '|' }), h('span', { class: 'code', text: CFG.code })),
        h('div', { class: 'controls', role: 'region', 'aria-label': 'Call controls' },
          toggleButton('mic'), toggleButton('cam'), call.captionsBtn,
          h('button', { class: 'round-btn', jsname: 'hNGZQc', 'aria-label': 'Share screen', 'data-tooltip': 'Present now' }, icon('present_to_all')),
          effectsButton(), moreButton(), leaveButton(leaveCall)),
        h('div', { class: 'side-buttons' }, call.avatarCount,
          h('button', { class: 'icon-btn', jsname: 'b0t70b', 'aria-label': 'Chat with everyone', 'data-tooltip': 'Chat with everyone', onclick: () => togglePanel('chat') }, icon('chat')))));
    const selfTile = makeTile({ name: media.name, id: CFG.self_id, color: CFG.self_color }, true);
    call.grid.append(selfTile);
    app.replaceChildren(call.root);
    syncToggles();
    syncCamera();
    updateCounts();
  }

  function makeTile(p, self = false) {
    const ind = h('div', { class: 'audio-ind gjg47c', 'data-audio-level': '0', jsname: 'QgSmzd' }, h('span'), h('span'), h('span'));
    const tile = h('div', { class: 'tile' + (self ? ' self' : ''), 'data-participant-id': p.id, 'data-requested-participant-id': p.id, 'data-self-name': self ? p.name : null, jsname: 'vYHHwe' },
      h('div', { class: 'avatar', style: `background:${p.color}` , text: (p.name || '?').trim().charAt(0).toUpperCase() }),
      self ? (() => { const v = h('video', { class: 'self-video', autoplay: true, muted: true, playsinline: true }); v.muted = true; if (media.stream) v.srcObject = media.stream; return v; })() : null,
      ind,
      h('div', { class: 'name-plate' }, h('span', { class: 'notranslate', text: self ? p.name : p.name })));
    return tile;
  }

  function join(p, tP) {
    if (state !== 'call' || call.present.has(p.name)) return;
    const tile = makeTile(p);
    call.present.set(p.name, tile);
    call.grid.insertBefore(tile, call.grid.querySelector('.tile.self'));
    updateCounts();
    report('participant_joined', { name: p.name }, epoch(tP));
  }
  function leave(p, tP) {
    const tile = call.present.get(p.name);
    if (!tile) return;
    for (const seg of segments) if (seg.speaker === p.name && seg.src && !seg.done) stopSegment(seg);
    tile.remove();
    call.present.delete(p.name);
    updateCounts();
    report('participant_left', { name: p.name }, epoch(tP));
  }
  function updateCounts() {
    const n = call.present.size + 1;
    call.peopleBtn.setAttribute('aria-label', `People - ${n} joined`);
    call.peopleBadge.textContent = String(n);
    call.avatarCount.setAttribute('data-avatar-count', String(n));
    call.grid.dataset.count = String(Math.min(n, 9));
    if (call.panelKind === 'people') renderPeople();
  }

  function setSpeaking(name, delta) {
    const n = Math.max(0, (call.speaking.get(name) || 0) + delta);
    call.speaking.set(name, n);
    const tile = call.present.get(name);
    if (!tile) return;
    const ind = tile.querySelector('.audio-ind');
    ind.classList.toggle('Oaajhc', n > 0);
    ind.classList.toggle('gjg47c', n === 0);
    ind.setAttribute('data-audio-level', n > 0 ? '0.8' : '0');
  }

  // Segments are put on the audio clock ~1 s ahead using a fresh clock mapping, then the indicator is
  // switched by a timer aimed at the moment the scheduled sample reaches the output.
  const LOOKAHEAD_MS = 1000;
  function scheduleTick() {
    if (state !== 'call') return;
    const now = performance.now();
    for (const seg of segments) {
      if (seg.done) continue;
      const target = call.t0 + seg.at * 1000;
      if (!seg.src && !seg.armedStart && target - now < LOOKAHEAD_MS) startSegment(seg, target);
      if (seg.src && !seg.on && !seg.armedStart) armStart(seg);
      if (seg.on && !seg.armedEnd) armEnd(seg);
    }
    call.tick = setTimeout(scheduleTick, 50);
  }

  function startSegment(seg, targetP) {
    const ctx = audio.ctx;
    if (!ctx || !seg.buffer || ctx.state !== 'running') {
      // No audio output: keep the timeline (indicator + truth) on the page clock instead.
      if (seg.buffer === null && ctx && ctx.state === 'running' && performance.now() < targetP) return;  // still decoding
      seg.src = 'silent';
      seg.ctxStart = null;
      seg.startP = Math.max(targetP, performance.now());
      seg.endP = seg.startP + seg.duration * 1000;
      report('audio_unavailable', { index: seg.index, state: ctx ? ctx.state : 'none' });
      return;
    }
    let T = perfToCtx(targetP);
    T = Math.max(T, ctx.currentTime + 0.01);
    const src = ctx.createBufferSource();
    src.buffer = seg.buffer;
    src.connect(ctx.destination);
    src.start(T);
    seg.src = src;
    seg.ctxStart = T;
  }

  const segStartP = (seg) => (seg.ctxStart === null ? seg.startP : ctxToPerf(seg.ctxStart));
  const segEndP = (seg) => (seg.ctxStart === null ? seg.endP : ctxToPerf(seg.ctxStart + seg.buffer.duration));

  function armStart(seg) {
    const wait = segStartP(seg) - performance.now();
    if (wait > 120) return;  // re-armed later with a fresher clock mapping
    seg.armedStart = true;
    const fire = () => {
      if (seg.done || state !== 'call') return;
      const startP = segStartP(seg);
      if (performance.now() < startP - 1) { setTimeout(fire, startP - performance.now()); return; }
      seg.on = true;
      seg.startP = startP;
      setSpeaking(seg.speaker, +1);
      report('speech_start', { speaker: seg.speaker, index: seg.index, text: seg.text, indicator_t: epoch() }, epoch(startP));
      addCaption(seg);
      armEnd(seg);
    };
    setTimeout(fire, Math.max(0, wait));
  }

  function armEnd(seg) {
    const wait = segEndP(seg) - performance.now();
    if (wait > 120 || seg.armedEnd) return;
    seg.armedEnd = true;
    const fire = () => {
      if (seg.done) return;
      const endP = segEndP(seg);
      if (performance.now() < endP - 1) { setTimeout(fire, endP - performance.now()); return; }
      finishSegment(seg, endP);
    };
    setTimeout(fire, Math.max(0, wait));
  }

  function finishSegment(seg, endP) {
    seg.done = true;
    if (seg.on) {
      setSpeaking(seg.speaker, -1);
      report('speech_end', { speaker: seg.speaker, index: seg.index, indicator_t: epoch() }, epoch(endP));
    }
  }
  function stopSegment(seg) {
    if (seg.src && seg.src !== 'silent') { try { seg.src.stop(); } catch (e) { /* not started */ } }
    if (!seg.done) finishSegment(seg, performance.now());
  }

  // ---------- captions, people, chat ----------
  function toggleCaptions() {
    call.captions = !call.captions;
    const label = call.captions ? 'Turn off captions' : 'Turn on captions';
    call.captionsBtn.setAttribute('aria-label', label);
    call.captionsBtn.setAttribute('data-tooltip', label);
    call.captionsBtn.querySelector('i').textContent = call.captions ? 'closed_caption' : 'closed_caption_off';
    call.captionsBox.classList.toggle('sim-gone', !call.captions);
    report('captions_toggled', { on: call.captions });
  }
  function addCaption(seg) {
    if (!call.captions) return;
    const block = h('div', { class: 'caption-block' }, h('div', { class: 'caption-name', text: seg.speaker }), h('div', { class: 'caption-text' }, h('span', { text: seg.text })));
    call.captionsBox.append(block);
    while (call.captionsBox.children.length > 2) call.captionsBox.firstChild.remove();
  }
  function togglePanel(kind) {
    call.panelKind = call.panelKind === kind ? null : kind;
    call.panel.classList.toggle('sim-gone', !call.panelKind);
    if (call.panelKind === 'people') renderPeople();
    else if (call.panelKind === 'chat') renderChat();
  }
  function renderPeople() {
    const rows = [...call.present.keys(), media.name + ' (You)'].map((n) =>
      h('div', { role: 'listitem', 'aria-label': n, class: 'person' }, h('span', { class: 'notranslate', text: n })));
    call.panel.replaceChildren(h('h3', { text: 'People' }), h('div', { role: 'list', 'aria-label': 'Participants' }, rows));
  }
  function renderChat() {
    const list = h('div', { class: 'messages', 'aria-live': 'polite' });
    const box = h('textarea', { 'aria-label': 'Send a message', placeholder: 'Send a message', rows: '2' });
    const send = () => {
      const text = box.value.trim();
      if (!text) return;
      const id = 'msg-' + Date.now();
      list.append(h('div', { class: 'aops0b' }, h('div', { class: 'HNucUd' }, h('span', { class: 'poVWob', text: 'You' })),
        h('div', { 'data-message-id': id, class: 'RLrADb' }, h('div', { class: 'jO4O1', text }))));
      box.value = '';
      report('chat_sent', { text });
    };
    box.addEventListener('keydown', (e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); send(); } });
    call.panel.replaceChildren(h('h3', { text: 'In-call messages' }), list,
      h('div', { class: 'chat-input' }, box, h('button', { 'aria-label': 'Send a message', class: 'icon-btn', onclick: send }, icon('send'))));
  }

  function showConsent() {
    const dlg = h('div', { class: 'consent', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'consent-title' },
      h('h2', { id: 'consent-title', text: 'This video call is being recorded' }),
      h('p', { text: 'By staying in the call, you consent to being recorded. The recording may include your voice, video and what you present.' }),
      h('div', { class: 'dialog-actions' },
        h('button', { class: 'btn-text', 'data-mdc-dialog-action': 'cancel', onclick: () => { scrim.remove(); leaveCall(); } }, h('span', { text: 'Leave meeting' })),
        h('button', { class: 'btn-text strong', 'data-mdc-dialog-action': 'ok', onclick: () => { scrim.remove(); report('consent_accepted'); } }, h('span', { text: 'Join now' }))));
    const scrim = h('div', { class: 'scrim' }, dlg);
    call.root.append(scrim);
    report('consent_shown');
  }

  // ---------- endings ----------
  function stopTimeline() {
    clearTimeout(call.tick);
    for (const t of call.timers) { clearTimeout(t); clearInterval(t); }
    call.timers = [];
    for (const seg of segments) if (!seg.done && seg.src) stopSegment(seg);
    for (const seg of segments) seg.done = true;
  }
  function endScreen(title, buttons) {
    app.replaceChildren(h('div', { class: 'roSPhc end-screen', role: 'main' },
      h('h1', { class: 'end-title', text: title }), h('div', { class: 'end-actions' }, ...buttons)));
  }
  function endMeeting(kind) {
    if (state !== 'call') return;
    if (kind === 'everyone_left') {
      const tP = performance.now();
      for (const p of CFG.participants) leave(p, tP);
      report('everyone_left', {}, epoch(tP));
      return;
    }
    const t = epoch();
    stopTimeline();
    state = 'ended';
    endScreen(kind === 'removed' ? 'You\'ve been removed from the meeting' : 'Your host ended the meeting for everyone', [homeButton()]);
    report('ended', { kind }, t);
  }
  function leaveCall() {
    if (state !== 'call') return;
    const t = epoch();
    stopTimeline();
    state = 'left';
    endScreen('You left the meeting', [
      h('button', { class: 'btn-outline', jsname: 'oI7Fj', onclick: () => location.reload() }, h('span', { text: 'Rejoin' })),
      homeButton()]);
    report('left', { from: 'call' }, t);
  }

  // ---------- manual control (rehearsals, tests) ----------
  function apply(action) {
    if (action === 'admit' || action === 'deny' || action === 'no_response') {
      if (state === 'waiting') { lobbyOutcome(action); return true; }
      return state !== 'prejoin';  // drop once past the lobby
    }
    if (action === 'end' || action === 'remove' || action === 'everyone_leave') {
      if (state === 'call') { endMeeting({ end: 'host_ended', remove: 'removed', everyone_leave: 'everyone_left' }[action]); return true; }
      return !(state === 'prejoin' || state === 'waiting');
    }
    return true;
  }
  function drainPending() { pending = pending.filter((a) => !apply(a)); }
  async function poll() {
    try {
      const r = await fetch(CFG.api + '/control', { cache: 'no-store' });
      if (r.ok) { const body = await r.json(); pending.push(...body.actions); drainPending(); }
    } catch (e) { /* server gone; keep polling */ }
    setTimeout(poll, 500);
  }

  renderPrejoin();
  camReady.then(() => buffersReady);
  setTimeout(poll, 500);
})();
