// Shared machinery for the simulated Zoom and Teams pages: ground-truth reporting, a DOM helper,
// local media, WebAudio speech on the audio clock (same approach as the Meet page) and control polling.
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
    constructor({ speech, report, onStart, onEnd, audible = () => true }) {
      this.report = report; this.onStart = onStart; this.onEnd = onEnd; this.audible = audible;
      this.ctx = null; this.out = null; this.live = false; this.t0 = 0; this.tick = null;
      try {
        this.ctx = new AudioContext({ latencyHint: 'interactive' });
        this.out = this.ctx.createGain();
        this.out.gain.value = audible() ? 1 : 0;
        this.out.connect(this.ctx.destination);
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
      const fire = () => {
        if (seg.done || !this.live) return;
        const startP = this.segStartP(seg);
        if (performance.now() < startP - 1) { setTimeout(fire, startP - performance.now()); return; }
        seg.on = true; seg.startP = startP;
        this.onStart(seg);
        this.report('speech_start', { speaker: seg.speaker, index: seg.index, text: seg.text, indicator_t: epoch(), audible: this.audible() }, epoch(startP));
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
      if (seg.src && seg.src !== 'silent') { try { seg.src.stop(); } catch (e) { /* not started */ } }
      if (!seg.done) this.finish(seg, performance.now());
    }
    stopSpeaker(name) { for (const seg of this.segments) if (seg.speaker === name && seg.src && !seg.done) this.stopSegment(seg); }
    stopAll() {
      this.live = false;
      clearTimeout(this.tick);
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

  window.SimCore = { epoch, h, reporter, Media, Speech, Timeline, lobbyOutcome, controlPoller, initials };
})();
