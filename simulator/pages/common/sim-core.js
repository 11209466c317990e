// Shared machinery for the simulated Meet, Zoom and Teams pages: ground-truth reporting, a DOM helper,
// local media, WebAudio speech on the audio clock, control polling, and the in-call core (Session):
// scenario timeline, speaking hooks, stuck indicators, the A/V sync marker, in-call dialogs and the
// end of the meeting, with per-page hooks for what each platform shows.
(() => {
  'use strict';

  const epoch = (p = performance.now()) => (performance.timeOrigin + p) / 1000;

  function h(tag, attrs = {}, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'html') el.innerHTML = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const kid of kids.flat()) if (kid !== null && kid !== undefined && kid !== false) el.append(kid);
    return el;
  }

  // Ordered reporting: each POST waits for the previous one.
  function reporter(api) {
    let chain = Promise.resolve();
    return function report(type, data = {}, t = epoch()) {
      if (!api) return chain;
      chain = chain.then(async () => {
        const extra = await data;
        await fetch(api + '/events', {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ type, t, ...extra }), keepalive: true,
        }).catch(() => {});
      });
      return chain;
    };
  }

  // ---------- local media ----------
  class Media {
    constructor(report) { this.report = report; this.stream = null; this.micOn = true; this.camOn = true; this.ready = null; this.onchange = () => {}; }
    start() {
      if (this.ready) return this.ready;
      const gum = navigator.mediaDevices && navigator.mediaDevices.getUserMedia;
      this.ready = gum ? navigator.mediaDevices.getUserMedia({ video: true, audio: false }).then((s) => {
        this.stream = s; this.sync(); return s;
      }).catch((err) => { this.camOn = false; this.sync(); this.report('camera_error', { error: String(err) }); return null; })
        : Promise.resolve(null);
      return this.ready;
    }
    sync() {
      if (this.stream) for (const t of this.stream.getVideoTracks()) t.enabled = this.camOn;
      for (const v of document.querySelectorAll('video.self-video')) if (v.srcObject !== this.stream) v.srcObject = this.stream;
      document.body.classList.toggle('cam-off', !this.camOn || !this.stream);
      this.onchange();
    }
    video(cls = 'self-video') {
      const v = h('video', { class: cls, autoplay: true, muted: true, playsinline: true });
      v.muted = true;
      if (this.stream) v.srcObject = this.stream;
      return v;
    }
    // Mean colour of one camera frame, so tests can tell the bot's avatar from the default fake feed.
    async meanRgb() {
      if (!this.camOn || !this.ready) return null;
      const stream = await Promise.race([this.ready, new Promise((r) => setTimeout(() => r(null), 3000))]);
      if (!stream) return null;
      const video = this.video('probe');
      await video.play().catch(() => {});
      const t0 = performance.now();
      while ((video.readyState < 2 || !video.videoWidth) && performance.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 30));
      if (video.readyState < 2) return null;
      const w = 160, hh = 90;
      const c = h('canvas', { width: w, height: hh });
      const g = c.getContext('2d', { willReadFrequently: true });
      g.drawImage(video, 0, 0, w, hh);
      const d = g.getImageData(0, 0, w, hh).data;
      let r = 0, gr = 0, b = 0;
      for (let i = 0; i < d.length; i += 4) { r += d[i]; gr += d[i + 1]; b += d[i + 2]; }
      const n = d.length / 4;
      return [r / n, gr / n, b / n].map((x) => Math.round(x * 10) / 10);
    }
  }

  // ---------- speech: WebAudio scheduled on the audio clock ----------
  // Segments are put on the audio clock ~1 s ahead using a fresh clock mapping; the indicator hook
  // runs from a timer aimed at the moment the scheduled sample reaches the output.
  class Speech {
    constructor({ speech, report, onStart, onEnd, onArm = () => {}, audible = () => true, toneDb = null, dropouts = [] }) {
      this.report = report; this.onStart = onStart; this.onEnd = onEnd; this.onArm = onArm; this.audible = audible;
      this.ctx = null; this.out = null; this.live = false; this.t0 = 0; this.tick = null;
      this.toneDb = toneDb; this.tone = null; this.dropouts = dropouts || [];
      try {
        this.ctx = new AudioContext({ latencyHint: 'interactive' });
        this.out = this.ctx.createGain();
        this.out.gain.value = audible() ? 1 : 0;
        // Holes (scenario dropouts) are cut after the audible gate, which Zoom's audio join resets.
        this.holes = this.ctx.createGain();
        this.out.connect(this.holes).connect(this.ctx.destination);
        this.ctx.resume().catch(() => {});
        document.addEventListener('pointerdown', () => this.ctx.resume().catch(() => {}), { once: true });
      } catch (e) { this.ctx = null; }
      this.segments = speech.map((s, index) => ({ ...s, index, buffer: null, src: null, startP: null, endP: null, on: false, done: false }));
      this.ready = Promise.all(this.segments.map(async (seg) => {
        if (!this.ctx) return;
        try {
          const r = await fetch(seg.audio);
          seg.buffer = await this.ctx.decodeAudioData(await r.arrayBuffer());
        } catch (e) { report('audio_error', { index: seg.index, error: String(e) }); }
      }));
    }
    // Let remote audio through (Zoom: once computer audio is joined).
    setAudible(on) {
      if (!this.ctx) return;
      this.out.gain.cancelScheduledValues(this.ctx.currentTime);
      this.out.gain.setValueAtTime(on ? 1 : 0, this.ctx.currentTime);
    }
    ctxToPerf(T) {
      const ctx = this.ctx;
      const ts = ctx.getOutputTimestamp ? ctx.getOutputTimestamp() : null;
      if (ts && ts.performanceTime > 0 && ts.contextTime > 0) return ts.performanceTime + (T - ts.contextTime) * 1000;
      const lat = (ctx.baseLatency || 0) + (ctx.outputLatency || 0);
      return performance.now() + (T - ctx.currentTime + lat) * 1000;
    }
    perfToCtx(P) { const T0 = this.ctx.currentTime; return T0 + (P - this.ctxToPerf(T0)) / 1000; }
    begin(t0) {
      this.t0 = t0; this.live = true;
      if (this.ctx) this.ctx.resume().catch(() => {});
      if (this.ctx && this.toneDb !== null && this.toneDb !== undefined) {
        // The room tone: always under the speech, so a gap in the recording's sound shows.
        const gain = this.ctx.createGain();
        gain.gain.value = Math.pow(10, this.toneDb / 20);
        this.tone = this.ctx.createOscillator();
        this.tone.frequency.value = 440;
        this.tone.connect(gain).connect(this.out);
        this.tone.start();
        this.report('room_tone', { db: this.toneDb });
      }
      if (this.ctx) for (const d of this.dropouts) {
        const T = this.perfToCtx(t0 + d.at * 1000);
        this.holes.gain.setValueAtTime(0, T);
        this.holes.gain.setValueAtTime(1, T + d.ms / 1000);
        // Reported near the time, with a fresh mapping of the audio clock (at admission it is off
        // by up to ~0.2 s).
        const when = () => this.report('dropout', { at: d.at, ms: d.ms }, epoch(this.ctxToPerf(T)));
        setTimeout(when, Math.max(0, this.ctxToPerf(T) - performance.now() - 50));
      }
      this.step();
    }
    step() {
      if (!this.live) return;
      const now = performance.now();
      for (const seg of this.segments) {
        if (seg.done) continue;
        const target = this.t0 + seg.at * 1000;
        if (!seg.src && !seg.armedStart && target - now < 1000) this.schedule(seg, target);
        if (seg.src && !seg.on && !seg.armedStart) this.armStart(seg);
        if (seg.on && !seg.armedEnd) this.armEnd(seg);
      }
      this.tick = setTimeout(() => this.step(), 50);
    }
    schedule(seg, targetP) {
      const ctx = this.ctx;
      if (!ctx || !seg.buffer || ctx.state !== 'running') {
        if (seg.buffer === null && ctx && ctx.state === 'running' && performance.now() < targetP) return;  // still decoding
        seg.src = 'silent'; seg.ctxStart = null;
        seg.startP = Math.max(targetP, performance.now());
        seg.endP = seg.startP + seg.duration * 1000;
        this.report('audio_unavailable', { index: seg.index, state: ctx ? ctx.state : 'none' });
        return;
      }
      const T = Math.max(this.perfToCtx(targetP), ctx.currentTime + 0.01);
      const src = ctx.createBufferSource();
      src.buffer = seg.buffer;
      src.connect(this.out);
      src.start(T);
      seg.src = src; seg.ctxStart = T;
    }
    segStartP(seg) { return seg.ctxStart === null ? seg.startP : this.ctxToPerf(seg.ctxStart); }
    segEndP(seg) { return seg.ctxStart === null ? seg.endP : this.ctxToPerf(seg.ctxStart + seg.buffer.duration); }
    armStart(seg) {
      const wait = this.segStartP(seg) - performance.now();
      if (wait > 120) return;  // re-armed later with a fresher clock mapping
      seg.armedStart = true;
      if (seg.ctxStart !== null) this.onArm(seg, this.segStartP(seg), this.segEndP(seg));
      const fire = () => {
        if (seg.done || !this.live) return;
        const startP = this.segStartP(seg);
        if (performance.now() < startP - 1) { setTimeout(fire, startP - performance.now()); return; }
        seg.on = true; seg.startP = startP;
        const indicator = this.onStart(seg);  // false: the speaking signal did not switch on
        this.report('speech_start', { speaker: seg.speaker, index: seg.index, text: seg.text, indicator_t: indicator === false ? null : epoch(), audible: this.audible() }, epoch(startP));
        this.armEnd(seg);
      };
      setTimeout(fire, Math.max(0, wait));
    }
    armEnd(seg) {
      const wait = this.segEndP(seg) - performance.now();
      if (wait > 120 || seg.armedEnd) return;
      seg.armedEnd = true;
      const fire = () => {
        if (seg.done) return;
        const endP = this.segEndP(seg);
        if (performance.now() < endP - 1) { setTimeout(fire, endP - performance.now()); return; }
        this.finish(seg, endP);
      };
      setTimeout(fire, Math.max(0, wait));
    }
    finish(seg, endP) {
      seg.done = true;
      if (seg.on) {
        const indicator = this.onEnd(seg);
        this.report('speech_end', { speaker: seg.speaker, index: seg.index, indicator_t: indicator === false ? null : epoch() }, epoch(endP));
      }
    }
    stopSegment(seg) {
      if (seg.anim) { seg.anim.cancel(); seg.anim = null; }
      if (seg.src && seg.src !== 'silent') { try { seg.src.stop(); } catch (e) { /* not started */ } }
      if (!seg.done) this.finish(seg, performance.now());
    }
    stopSpeaker(name) { for (const seg of this.segments) if (seg.speaker === name && seg.src && !seg.done) this.stopSegment(seg); }
    stopAll() {
      this.live = false;
      clearTimeout(this.tick);
      if (this.tone) { try { this.tone.stop(); } catch (e) { /* not started */ } this.tone = null; }
      for (const seg of this.segments) if (!seg.done && seg.src) this.stopSegment(seg);
      for (const seg of this.segments) seg.done = true;
    }
  }

  // ---------- scenario timeline after admission ----------
  class Timeline {
    constructor(cfg) { this.cfg = cfg; this.timers = []; this.t0 = 0; }
    start(t0, { join, leave, end }) {
      this.t0 = t0;
      for (const p of this.cfg.participants) {
        if (p.joins_at <= 0) join(p, t0);
        else this.at(p.joins_at, () => join(p, t0 + p.joins_at * 1000));
        if (p.leaves_at !== null && p.leaves_at !== undefined) this.at(p.leaves_at, () => leave(p, t0 + p.leaves_at * 1000));
      }
      if (this.cfg.end.kind !== 'none' && this.cfg.end.at !== null) this.at(this.cfg.end.at, () => end(this.cfg.end.kind));
    }
    at(sec, fn) { this.timers.push(setTimeout(fn, Math.max(0, this.t0 + sec * 1000 - performance.now()))); }
    every(ms, fn) { this.timers.push(setInterval(fn, ms)); }
    stop() { for (const t of this.timers) { clearTimeout(t); clearInterval(t); } this.timers = []; }
  }

  // Lobby outcome timers: the earliest of admit/deny/no_response wins.
  function lobbyOutcome(lobby) {
    const outcomes = [['admit', lobby.admit_after], ['deny', lobby.deny_after], ['no_response', lobby.no_response_after]]
      .filter(([, s]) => s !== null && s !== undefined).sort((a, b) => a[1] - b[1]);
    return outcomes.length ? outcomes[0] : null;
  }

  // Control actions ("admit", "end", ...) polled from the server; apply(action) returns true once handled.
  function controlPoller(api, apply) {
    let pending = [];
    const drain = () => { pending = pending.filter((a) => !apply(a)); };
    async function poll() {
      try {
        const r = await fetch(api + '/control', { cache: 'no-store' });
        if (r.ok) { const body = await r.json(); pending.push(...body.actions); drain(); }
      } catch (e) { /* server gone; keep polling */ }
      setTimeout(poll, 500);
    }
    setTimeout(poll, 500);
    return drain;
  }

  const initials = (name) => (name || '?').trim().split(/\s+/).slice(0, 2).map((w) => w.charAt(0).toUpperCase()).join('');

  // ---------- the in-call core shared by the three pages ----------
  // The page owns its DOM; the session owns the call's clock and what happens on it. Hooks:
  //   join(p, tP), leave(p, tP)          add / remove a participant's tile
  //   speakingOn(name, n, seg)           a segment of name's audio reached the output (n = segments
  //                                      now playing for name); return false if no signal switched on
  //   speakingOff(name, n, seg)          one ended; return false if the signal stays as it is
  //   dialog(kind, dismiss, index)       build and attach an in-call dialog, wire its buttons to
  //                                      dismiss(buttonText); return its root element
  //   beforeEnd(kind)                    optional; return 'keep_dialogs' to leave open dialogs up
  //   endScreen(kind, sent)              the platform's end screen (sent: the 'ended' report promise)
  //   leftScreen()                       the screen after the bot left on its own
  //   teardown()                         optional page cleanup when the call stops
  const MARKER_STYLE = 'position:fixed;left:0;bottom:0;width:48px;height:48px;margin:0;padding:0;border:0;'
    + 'box-sizing:border-box;background-color:#000;z-index:2147483647;pointer-events:none;display:block;'
    + 'opacity:1;transform:none;filter:none;mix-blend-mode:normal';

  const MARKER_RAMP_MS = 120;

  class Session {
    constructor({ cfg, report, audible = () => true, hooks }) {
      this.cfg = cfg; this.report = report; this.audible = audible; this.hooks = hooks;
      this.state = 'prejoin';
      this.timeline = new Timeline(cfg);
      this.live = new Map();                              // speaker -> segments playing
      this.stuck = new Set(cfg.stuck_indicator || []);
      this.stuckOn = new Set();                           // stuck speakers whose signal is lit
      this.marker = null; this.markerOn = false;
      this.dialogs = new Map(); this.dialogSeq = 0;
      this.speech = new Speech({ speech: cfg.speech || [], report, audible, toneDb: cfg.room_tone_db, dropouts: cfg.dropouts,
        onStart: (seg) => this.segStart(seg), onEnd: (seg) => this.segEnd(seg),
        onArm: (seg, s, e) => this.markSegment(seg, s, e) });
    }
    get inCall() { return this.state === 'call'; }

    // Admission: the call screen is rendered and 'admitted' reported; t0 = performance.now() then.
    begin(t0) {
      this.state = 'call';
      this.t0 = t0;
      if (this.cfg.sync_marker) this.mountMarker();
      this.timeline.start(t0, { join: (p, tP) => this.hooks.join(p, tP), leave: (p, tP) => this.leave(p, tP), end: (k) => this.end(k) });
      this.speech.begin(t0);
      for (const d of this.cfg.dialogs || []) {
        if (d.at <= 0) this.openDialog(d.kind);
        else this.timeline.at(d.at, () => this.openDialog(d.kind));
      }
    }

    segStart(seg) {
      const name = seg.speaker;
      const n = (this.live.get(name) || 0) + 1;
      this.live.set(name, n);
      this.syncMarker(seg);
      const shown = this.hooks.speakingOn(name, n, seg);
      if (shown !== false && this.stuck.has(name) && !this.stuckOn.has(name)) {
        this.stuckOn.add(name);
        this.report('stuck_on', { name });
      }
      return shown;
    }
    segEnd(seg) {
      const name = seg.speaker;
      const n = Math.max(0, (this.live.get(name) || 0) - 1);
      this.live.set(name, n);
      this.syncMarker(seg);
      if (this.stuckOn.has(name)) return false;  // a stuck signal: the audio stopped, the signal did not
      return this.hooks.speakingOff(name, n, seg);
    }
    isStuck(name) { return this.stuckOn.has(name); }

    // ----- A/V sync marker: white while remote audio reaches the output, black otherwise -----
    // The white square is an opacity animation on the document timeline, started at the time the
    // audio clock says the segment's first sample reaches the output: the compositor draws it
    // then, so a busy main thread (admission, a dialog) cannot delay it. A remote participant's
    // video is composited off the main thread too; a style flip from a timer would not be.
    mountMarker() {
      this.marker = h('div', { id: 'sim-sync-marker', 'aria-hidden': 'true', style: MARKER_STYLE },
        this.markerLight = h('div', { style: 'position:absolute;inset:0;background:#fff;opacity:0;will-change:opacity' }));
      this.markerOn = false;
      document.body.append(this.marker);
      const r = this.marker.getBoundingClientRect();
      const inIframe = window.top !== window;
      let frameOffset = null;
      try {
        if (inIframe && window.frameElement) {
          const f = window.frameElement.getBoundingClientRect();
          frameOffset = { x: f.x + window.frameElement.clientLeft, y: f.y + window.frameElement.clientTop };
        }
      } catch (e) { /* cross-origin parent */ }
      this.report('sync_marker', { x: r.x, y: r.y, w: r.width, h: r.height, dpr: window.devicePixelRatio, ramp_ms: MARKER_RAMP_MS,
        viewport: { w: window.innerWidth, h: window.innerHeight }, in_iframe: inIframe, frame_offset: frameOffset });
    }
    // The white fades in linearly over MARKER_RAMP_MS from the segment's start, so one captured
    // frame inside the ramp tells the onset to a few ms (its brightness is the time since), where a
    // plain flip is only placed between two frames.
    light(seg, fromP, toP) {
      if (seg.anim) seg.anim.cancel();
      const duration = Math.max(MARKER_RAMP_MS + 1, toP - fromP);
      seg.anim = this.markerLight.animate(
        [{ opacity: 0, easing: 'linear' }, { opacity: 1, offset: MARKER_RAMP_MS / duration }, { opacity: 1 }],
        { duration, fill: 'none' });
      seg.anim.startTime = fromP;
      seg.markS = fromP; seg.markE = toP;
    }
    // Armed ~120 ms ahead, with the freshest mapping of the audio clock.
    markSegment(seg, startP, endP) {
      if (this.marker && this.audible()) this.light(seg, startP, endP);
    }
    // Truth: on when the first audible segment starts, off when the last one ends.
    syncMarker(seg) {
      if (!this.marker) return;
      let on = false;
      if (this.audible()) for (const n of this.live.values()) if (n > 0) { on = true; break; }
      if (on === this.markerOn) return;
      if (on && seg && !seg.anim) {
        // Audio became audible in the middle of this segment (Zoom: computer audio joined now).
        const now = performance.now();
        const endP = seg.ctxStart === null ? seg.endP : this.speech.segEndP(seg);
        this.light(seg, now, endP);
      }
      this.markerOn = on;
      const t = on ? (seg && seg.markS) : (seg && seg.markE);
      this.report('sync_flip', { on }, t ? epoch(Math.min(t, performance.now())) : epoch());
    }

    // ----- in-call dialogs -----
    openDialog(kind, extra = {}) {
      if (!this.inCall) return null;
      const index = this.dialogSeq++;
      const entry = { kind, index, el: null, done: false };
      const dismiss = (button) => {
        if (entry.done) return false;
        entry.done = true;
        if (entry.el) entry.el.remove();
        this.dialogs.delete(index);
        this.report('dialog_dismissed', { kind, index, button });
        return true;
      };
      this.dialogs.set(index, entry);
      this.report('dialog_shown', { kind, index, ...extra });
      entry.el = this.hooks.dialog(kind, dismiss, index);
      return entry;
    }
    openDialogCount() { return this.dialogs.size; }

    // ----- people and endings -----
    leave(p, tP) {
      this.speech.stopSpeaker(p.name);
      const wasStuck = this.stuckOn.delete(p.name);
      this.hooks.leave(p, tP);
      if (wasStuck) this.report('stuck_off', { name: p.name }, epoch(tP));
    }
    teardown(keepDialogs = false) {
      const t = epoch();
      this.speech.stopAll();
      this.timeline.stop();
      for (const name of this.stuckOn) this.report('stuck_off', { name }, t);
      this.stuckOn.clear();
      if (this.marker) { this.marker.remove(); this.marker = null; }
      if (!keepDialogs) {
        for (const e of this.dialogs.values()) { e.done = true; if (e.el) e.el.remove(); }
        this.dialogs.clear();
      }
      if (this.hooks.teardown) this.hooks.teardown();
    }
    // The meeting ends for the bot: "everyone_left" empties the call but keeps the bot in it; other
    // kinds ("host_ended", "removed") stop the call and show the platform's screen.
    end(kind) {
      if (!this.inCall) return;
      if (kind === 'everyone_left') {
        const tP = performance.now();
        for (const p of this.cfg.participants) this.leave(p, tP);
        this.report('everyone_left', {}, epoch(tP));
        return;
      }
      const t = epoch();
      const keep = this.hooks.beforeEnd ? this.hooks.beforeEnd(kind) === 'keep_dialogs' : false;
      this.teardown(keep);
      this.state = 'ended';
      const sent = this.report('ended', { kind }, t);
      this.hooks.endScreen(kind, sent);
    }
    // The bot left on its own.
    leaveCall() {
      if (!this.inCall) return false;
      const t = epoch();
      this.teardown(false);
      this.state = 'left';
      this.hooks.leftScreen();
      this.report('left', { from: 'call' }, t);
      return true;
    }
  }

  window.SimCore = { epoch, h, reporter, Media, Speech, Timeline, Session, lobbyOutcome, controlPoller, initials };
})();
