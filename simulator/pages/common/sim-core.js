// Shared machinery for the simulated Meet, Zoom and Teams pages: ground-truth reporting, a DOM helper,
// local media, WebAudio speech on the audio clock, control polling, and the in-call core (Session):
// scenario timeline, speaking hooks, stuck indicators, the A/V sync marker, in-call dialogs and the
// end of the meeting, with per-page hooks for what each platform shows.
(() => {
  'use strict';

  const epoch = (p = performance.now()) => (performance.timeOrigin + p) / 1000;
  const LATER = 'later';  // a speaking hook's answer: the signal switches later (signal_lag_ms / signal_hold_ms)

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

  // ---------- speech: remote participants' sound on the audio path the scenario names ----------
  // Each segment is started ~1 s ahead of its time and dated on the page's own clock, as a meeting
  // page would know it: the context time it was scheduled at, where an element's currentTime says
  // it began, or when its voice arrived on the received WebRTC track. Nothing here adds the output
  // latency Chromium reports: what the sound meets after the page is the recorder's to measure.

  // The page's reading of an AudioContext's clock: performance time minus context time. currentTime
  // moves in whole output buffers (85 ms with a 4096-frame buffer), so one reading is off by up to a
  // buffer; the median of the recent ones sits mid-buffer, where the frames are rendered.
  class ContextClock {
    constructor(ctx) { this.ctx = ctx; this.offsets = []; }
    sample() {
      const ctx = this.ctx;
      if (!ctx || ctx.state !== 'running' || ctx.currentTime <= 0) return;
      this.offsets.push(performance.now() - ctx.currentTime * 1000);
      if (this.offsets.length > 41) this.offsets.shift();
    }
    offset() {
      this.sample();
      if (!this.offsets.length) return performance.now() - (this.ctx ? this.ctx.currentTime * 1000 : 0);
      const sorted = [...this.offsets].sort((a, b) => a - b);
      return sorted[sorted.length >> 1];
    }
    toPerf(T) { return T * 1000 + this.offset(); }
    toCtx(P) { return (P - this.offset()) / 1000; }
  }

  // Voice onsets in a received track, to the sample: the first sample louder than -42 dBFS after
  // 50 ms quieter, posted with its frame on the consuming context's clock.
  const ONSET_WORKLET = `
    class SimOnsets extends AudioWorkletProcessor {
      constructor() { super(); this.quiet = 0; }
      process(inputs) {
        const ch = inputs[0] && inputs[0][0];
        if (!ch) return true;
        for (let i = 0; i < ch.length; i++) {
          if (Math.abs(ch[i]) > 0.00794) {
            if (this.quiet >= 2400) this.port.postMessage(currentFrame + i);
            this.quiet = 0;
          } else this.quiet++;
        }
        return true;
      }
    }
    registerProcessor('sim-onsets', SimOnsets);`;

  const CTX_PATHS = new Set(['webaudio', 'webaudio_playback', 'element_stream']);
  const RTC_PATHS = new Set(['webrtc_element', 'webrtc_webaudio']);

  class Speech {
    constructor({ speech, report, onStart, onEnd, onArm = () => {}, audible = () => true, toneDb = null, dropouts = [], path = 'webaudio' }) {
      this.report = report; this.onStart = onStart; this.onEnd = onEnd; this.onArm = onArm; this.audible = audible;
      this.path = path || 'webaudio';
      this.viaRtc = RTC_PATHS.has(this.path);
      this.ctx = null; this.live = false; this.t0 = 0; this.tick = null;
      this.toneDb = toneDb; this.tone = null; this.dropouts = dropouts || [];
      this.chains = new Map();  // speaker (or '' for all, 'room' for the tone) -> { out, holes, ... }
      this.elements = [];       // <audio> players, muted while the page plays nothing (Zoom's audio gate)
      this.contexts = [];
      try {
        this.ctx = new AudioContext({ latencyHint: this.path === 'webaudio_playback' ? 'playback' : 'interactive' });
        this.contexts.push(this.ctx);
        this.clock = new ContextClock(this.ctx);
        document.addEventListener('pointerdown', () => this.resume(), { once: true });
        this.resume();
      } catch (e) { this.ctx = null; this.clock = new ContextClock(null); }
      this.segments = speech.map((s, index) => ({ ...s, index, buffer: null, src: null, startP: null, endP: null, sendP: null, on: false, done: false }));
      this.rtc = this.viaRtc && this.ctx ? this.loopback([...new Set(this.segments.map((g) => g.speaker)), 'room']) : null;
      this.ready = Promise.all(this.segments.map(async (seg) => {
        if (this.path === 'element_file') {
          const el = new Audio(); el.preload = 'auto'; el.src = seg.audio; el.muted = !this.audible();
          seg.element = el; this.elements.push(el);
          return;
        }
        if (!this.ctx) return;
        try {
          const r = await fetch(seg.audio);
          seg.buffer = await this.ctx.decodeAudioData(await r.arrayBuffer());
        } catch (e) { report('audio_error', { index: seg.index, error: String(e) }); }
      }));
    }
    resume() { for (const c of this.contexts) c.resume().catch(() => {}); }
    // One gain for the audible gate, one for the scenario's holes (cut after the gate, which
    // Zoom's audio join resets), then where the path sends it.
    chain(key) {
      const own = this.viaRtc ? key : (key === 'room' && this.path === 'element_file' ? 'room' : '');
      let c = this.chains.get(own);
      if (c) return c;
      const ctx = this.ctx;
      const out = ctx.createGain();
      out.gain.value = this.audible() ? 1 : 0;
      const holes = ctx.createGain();
      out.connect(holes);
      c = { out, holes };
      if (this.viaRtc) {
        c.dest = ctx.createMediaStreamDestination();
        holes.connect(c.dest);
      } else if (this.path === 'element_stream') {
        const dest = ctx.createMediaStreamDestination();
        holes.connect(dest);
        const el = new Audio(); el.autoplay = true; el.srcObject = dest.stream; el.muted = !this.audible();
        el.play().catch(() => {});
        this.elements.push(el);
      } else {
        holes.connect(ctx.destination);
      }
      this.chains.set(own, c);
      return c;
    }
    // Two peers in the page: each speaker's sound is an Opus track from one to the other, played
    // from the receiving side as a call's remote audio is.
    loopback(keys) {
      const pc1 = new RTCPeerConnection(), pc2 = new RTCPeerConnection();
      pc1.onicecandidate = (e) => e.candidate && pc2.addIceCandidate(e.candidate).catch(() => {});
      pc2.onicecandidate = (e) => e.candidate && pc1.addIceCandidate(e.candidate).catch(() => {});
      const order = [];
      for (const key of keys) {
        const c = this.chain(key);
        pc1.addTrack(c.dest.stream.getAudioTracks()[0], c.dest.stream);
        order.push(c);
      }
      let n = 0;
      const arrived = [];
      const playing = this.path === 'webrtc_webaudio' ? new AudioContext({ latencyHint: 'interactive' }) : null;
      const probe = playing || new AudioContext({ latencyHint: 'interactive' });
      this.contexts.push(probe);
      this.probeClock = new ContextClock(probe);
      const worklet = probe.audioWorklet.addModule(URL.createObjectURL(new Blob([ONSET_WORKLET], { type: 'application/javascript' })));
      pc2.ontrack = (e) => {
        const c = order[n++];
        if (!c) return;
        const stream = new MediaStream([e.track]);
        // Chromium pulls a remote track into WebAudio only while a media element plays it too.
        const el = new Audio(); el.autoplay = true; el.srcObject = stream;
        el.muted = playing ? true : !this.audible();
        el.play().catch(() => {});
        if (!playing) this.elements.push(el);
        c.receiver = e.receiver;
        arrived.push(worklet.then(() => {
          const source = probe.createMediaStreamSource(stream);
          const node = new AudioWorkletNode(probe, 'sim-onsets');
          node.port.onmessage = (m) => this.onArrival(c, m.data / probe.sampleRate);
          const mute = probe.createGain(); mute.gain.value = 0;
          source.connect(node).connect(mute).connect(probe.destination);
          if (playing) source.connect(probe.destination);
        }));
      };
      const ready = (async () => {
        const offer = await pc1.createOffer(); await pc1.setLocalDescription(offer); await pc2.setRemoteDescription(offer);
        const answer = await pc2.createAnswer(); await pc2.setLocalDescription(answer); await pc1.setRemoteDescription(answer);
      })().catch((err) => this.report('audio_error', { path: this.path, error: String(err) }));
      return { pc1, pc2, probe, ready, arrived, order };
    }
    // A voice arrived on a speaker's received track (probe context time T): the start of the next
    // segment of theirs that was sent shortly before.
    onArrival(c, T) {
      const P = this.probeClock.toPerf(T);
      for (const seg of this.segments) {
        if (seg.done || seg.startP !== null || seg.sendP === null || this.chain(seg.speaker) !== c) continue;
        if (P < seg.sendP - 60 || P > seg.sendP + 800) continue;
        seg.startP = P; seg.endP = P + seg.duration * 1000; seg.transit = P - seg.sendP;
        this.step();
        return;
      }
    }
    // Let remote audio through (Zoom: once computer audio is joined).
    setAudible(on) {
      this.resume();
      for (const el of this.elements) el.muted = !on;
      if (!this.ctx) return;
      for (const c of this.chains.values()) {
        c.out.gain.cancelScheduledValues(this.ctx.currentTime);
        c.out.gain.setValueAtTime(on ? 1 : 0, this.ctx.currentTime);
      }
    }
    ctxToPerf(T) { return this.clock.toPerf(T); }
    perfToCtx(P) { return this.clock.toCtx(P); }
    begin(t0) {
      this.t0 = t0; this.live = true;
      this.resume();
      this.report('audio_path', {
        path: this.path, sample_rate: this.ctx ? this.ctx.sampleRate : null,
        base_latency: this.ctx ? this.ctx.baseLatency : null, output_latency: this.ctx ? this.ctx.outputLatency : null });
      if (this.ctx && this.toneDb !== null && this.toneDb !== undefined) {
        // The room tone: always under the speech, so a gap in the recording's sound shows.
        const gain = this.ctx.createGain();
        gain.gain.value = Math.pow(10, this.toneDb / 20);
        this.tone = this.ctx.createOscillator();
        this.tone.frequency.value = 440;
        this.tone.connect(gain).connect(this.chain('room').out);
        this.tone.start();
        this.report('room_tone', { db: this.toneDb });
      }
      if (this.ctx) for (const d of this.dropouts) {
        const T = this.perfToCtx(t0 + d.at * 1000);
        for (const c of this.chains.values()) {
          c.holes.gain.setValueAtTime(0, T);
          c.holes.gain.setValueAtTime(1, T + d.ms / 1000);
        }
        // Reported near the time, on a fresh reading of the audio clock.
        const when = () => this.report('dropout', { at: d.at, ms: d.ms }, epoch(this.ctxToPerf(T)));
        setTimeout(when, Math.max(0, this.ctxToPerf(T) - performance.now() - 50));
      }
      this.step();
    }
    step() {
      if (!this.live) return;
      clearTimeout(this.tick);
      this.clock.sample();
      if (this.probeClock) this.probeClock.sample();
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
    unavailable(seg, targetP, state) {
      seg.src = 'silent'; seg.ctxStart = null;
      seg.startP = Math.max(targetP, performance.now());
      seg.endP = seg.startP + seg.duration * 1000;
      this.report('audio_unavailable', { index: seg.index, state });
    }
    schedule(seg, targetP) {
      if (this.path === 'element_file') return this.playElement(seg, targetP);
      const ctx = this.ctx;
      if (!ctx || !seg.buffer || ctx.state !== 'running') {
        if (seg.buffer === null && ctx && ctx.state === 'running' && performance.now() < targetP) return;  // still decoding
        return this.unavailable(seg, targetP, ctx ? ctx.state : 'none');
      }
      const T = Math.max(this.perfToCtx(targetP), ctx.currentTime + 0.01);
      const src = ctx.createBufferSource();
      src.buffer = seg.buffer;
      src.connect(this.chain(seg.speaker).out);
      src.start(T);
      seg.src = src;
      if (this.viaRtc) { seg.ctxStart = null; seg.sendP = this.ctxToPerf(T); } else seg.ctxStart = T;
    }
    // <audio src>: played from a timer at the segment's time; its start is where the element's
    // own clock puts it (the median of performance time minus currentTime once it moves).
    playElement(seg, targetP) {
      const el = seg.element;
      seg.src = el; seg.ctxStart = null;
      setTimeout(() => {
        if (seg.done || !this.live) return;
        el.play().then(() => {
          const readings = [];
          const read = () => {
            if (seg.done) return;
            if (el.currentTime > 0) readings.push(performance.now() - el.currentTime * 1000);
            if (readings.length < 9) { setTimeout(read, 7); return; }
            readings.sort((a, b) => a - b);
            seg.startP = readings[readings.length >> 1];
            seg.endP = seg.startP + seg.duration * 1000;
            this.step();
          };
          read();
        }).catch(() => this.unavailable(seg, targetP, 'element ' + (el.error ? el.error.code : 'refused')));
      }, Math.max(0, targetP - performance.now()));
    }
    segStartP(seg) { return seg.ctxStart === null || seg.ctxStart === undefined ? seg.startP : this.ctxToPerf(seg.ctxStart); }
    segEndP(seg) { return seg.ctxStart === null || seg.ctxStart === undefined ? seg.endP : this.ctxToPerf(seg.ctxStart + seg.buffer.duration); }
    armStart(seg) {
      if (this.segStartP(seg) === null) return;  // not heard yet (a received track, an element)
      const wait = this.segStartP(seg) - performance.now();
      if (wait > 120) return;  // re-armed later with a fresher clock reading
      seg.armedStart = true;
      this.onArm(seg, this.segStartP(seg), this.segEndP(seg));
      const fire = () => {
        if (seg.done || !this.live) return;
        const startP = this.segStartP(seg);
        if (performance.now() < startP - 1) { setTimeout(fire, startP - performance.now()); return; }
        seg.on = true; seg.startP = startP;
        const indicator = this.onStart(seg);  // false: the speaking signal did not switch on
        this.report('speech_start', {
          speaker: seg.speaker, index: seg.index, text: seg.text, indicator_t: indicator === false || indicator === LATER ? null : epoch(),
          audible: this.audible(), path: this.path, transit_ms: seg.transit === undefined ? null : seg.transit }, epoch(startP));
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
        this.report('speech_end', { speaker: seg.speaker, index: seg.index, indicator_t: indicator === false || indicator === LATER ? null : epoch() }, epoch(endP));
      }
    }
    stopSegment(seg) {
      if (seg.anim) { seg.anim.cancel(); seg.anim = null; }
      if (seg.src instanceof HTMLMediaElement) seg.src.pause();
      else if (seg.src && seg.src !== 'silent') { try { seg.src.stop(); } catch (e) { /* not started */ } }
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
      this.lagged = (cfg.signal_lag_ms || 0) > 0 || (cfg.signal_hold_ms || 0) > 0;
      this.shownCount = new Map();                        // speaker -> lagged utterances shown
      this.marker = null; this.markerOn = false;
      this.dialogs = new Map(); this.dialogSeq = 0;
      this.speech = new Speech({ speech: cfg.speech || [], report, audible, toneDb: cfg.room_tone_db, dropouts: cfg.dropouts, path: cfg.audio_path,
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
      if (this.captions) this.captions.segStart(seg);
      const name = seg.speaker;
      const n = (this.live.get(name) || 0) + 1;
      this.live.set(name, n);
      this.syncMarker(seg);
      if (this.lagged) {
        setTimeout(() => this.showLagged(seg, true), this.cfg.signal_lag_ms || 0);
        if (this.stuck.has(name) && !this.stuckOn.has(name)) { this.stuckOn.add(name); this.report('stuck_on', { name }); }
        return LATER;
      }
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
      if (this.lagged) {
        setTimeout(() => this.showLagged(seg, false), this.cfg.signal_hold_ms || 0);
        return LATER;
      }
      return this.hooks.speakingOff(name, n, seg);
    }
    // A signal that follows the voice late: counted per speaker, so that the same speaker's next
    // utterance within the hold keeps it on; an off that comes before its on waits for it.
    showLagged(seg, on) {
      if (!this.inCall) return;
      const name = seg.speaker;
      if (!on && !seg.shownLagged) { seg.hideWhenShown = true; return; }
      const k = Math.max(0, (this.shownCount.get(name) || 0) + (on ? 1 : -1));
      this.shownCount.set(name, k);
      if (on) {
        seg.shownLagged = true;
        this.hooks.speakingOn(name, k, seg);
        this.report('indicator', { index: seg.index, speaker: name, on: true });
        if (seg.hideWhenShown) setTimeout(() => this.showLagged(seg, false), 0);
      } else {
        this.hooks.speakingOff(name, k, seg);
        if (k === 0) this.report('indicator', { index: seg.index, speaker: name, on: false });
      }
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
        const endP = this.speech.segEndP(seg);
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
