// Plays the recording's HLS stream (hls.js, or native HLS) and draws its speaker timeline:
// one row per speaker, one coloured bar per turn, positioned on the recording's clock.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("meeting").textContent);
  const video = document.getElementById("video");
  const timeline = document.getElementById("timeline");
  const status = document.getElementById("status");
  const COLOURS = ["#e8710a", "#1e8e3e", "#9334e6", "#1a73e8", "#d93025", "#f9ab00", "#12b5cb", "#e52592"];

  function attach() {
    if (!data.stream_url) return;
    if (window.Hls && window.Hls.isSupported()) {
      const hls = new window.Hls({ liveDurationInfinity: true });
      // The page shows the transcript as its own captions track; the stream's subtitles stay off here.
      hls.subtitleDisplay = false;
      hls.loadSource(data.stream_url);
      hls.attachMedia(video);
      window.meetbotPlayer = { engine: "hls.js", hls: hls };
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = data.stream_url;
      window.meetbotPlayer = { engine: "native" };
    } else {
      status.textContent = "This browser cannot play HLS.";
    }
  }

  function duration() {
    if (data.duration) return data.duration;
    const ends = data.speaker_timeline.map((s) => s.end_time_seconds);
    return isFinite(video.duration) && video.duration > 0 ? video.duration : Math.max(1, ...ends);
  }

  function draw() {
    timeline.textContent = "";
    const total = duration();
    const speakers = [];
    for (const seg of data.speaker_timeline) {
      if (!speakers.includes(seg.speaker_name)) speakers.push(seg.speaker_name);
    }
    speakers.forEach((name, i) => {
      const row = document.createElement("div");
      row.className = "row";
      row.dataset.speaker = name;
      const label = document.createElement("div");
      label.className = "name";
      label.textContent = name;
      label.style.color = COLOURS[i % COLOURS.length];
      const track = document.createElement("div");
      track.className = "track";
      for (const seg of data.speaker_timeline.filter((s) => s.speaker_name === name)) {
        const bar = document.createElement("div");
        bar.className = "bar";
        bar.dataset.speaker = name;
        bar.dataset.start = seg.start_time_seconds;
        bar.dataset.end = seg.end_time_seconds;
        bar.style.left = (100 * seg.start_time_seconds / total) + "%";
        bar.style.width = (100 * (seg.end_time_seconds - seg.start_time_seconds) / total) + "%";
        bar.style.background = COLOURS[i % COLOURS.length];
        bar.title = name + " " + seg.start_time_seconds.toFixed(1) + "–" + seg.end_time_seconds.toFixed(1) + " s";
        bar.addEventListener("click", () => { video.currentTime = seg.start_time_seconds; });
        track.appendChild(bar);
      }
      const head = document.createElement("div");
      head.className = "playhead";
      track.appendChild(head);
      row.append(label, track);
      timeline.appendChild(row);
    });
    timeline.dataset.duration = total;
  }

  function playhead() {
    const total = duration();
    for (const head of timeline.querySelectorAll(".playhead")) {
      head.style.left = Math.min(100, 100 * video.currentTime / total) + "%";
    }
  }

  // The transcript (when the meeting was transcribed): one line per utterance under the bars,
  // coloured like its speaker's row; a click seeks there; captions from captions.vtt.
  const transcript = document.getElementById("transcript");
  function colourOf(name) {
    const names = [...new Set(data.speaker_timeline.map((s) => s.speaker_name))];
    const i = names.indexOf(name);
    return i < 0 ? "#aaa" : COLOURS[i % COLOURS.length];
  }
  function clock(t) {
    const s = Math.floor(t);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  function showTranscript(lines) {
    transcript.textContent = "";
    for (const line of lines) {
      const row = document.createElement("div");
      row.className = "line";
      row.dataset.start = line.start;
      row.dataset.end = line.end;
      const t = document.createElement("span");
      t.className = "t";
      t.textContent = clock(line.start);
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = line.speaker || "";
      who.style.color = colourOf(line.speaker);
      const text = document.createElement("span");
      text.textContent = line.text;
      row.append(t, who, text);
      row.addEventListener("click", () => { video.currentTime = line.start; });
      transcript.appendChild(row);
    }
    window.meetbotTranscript = lines;
  }
  function followTranscript() {
    for (const row of transcript.children) {
      const on = video.currentTime >= +row.dataset.start && video.currentTime < +row.dataset.end + 0.5;
      row.classList.toggle("now", on);
    }
  }
  if (data.transcript_url) {
    fetch(data.transcript_url).then((r) => r.ok ? r.json() : null).then((doc) => {
      if (!doc) return;
      showTranscript(doc.lines || []);
      const track = document.createElement("track");
      track.kind = "captions";
      track.label = "Transcript";
      track.srclang = "en";
      track.src = data.captions_url;
      track.default = true;
      video.appendChild(track);
    }).catch(() => {});
  }
  video.addEventListener("timeupdate", followTranscript);

  status.textContent = data.status === "done" ? "" :
    data.status === "processing" ? "Recording in progress" : "Status: " + data.status;
  attach();
  draw();
  video.addEventListener("loadedmetadata", () => { if (!data.duration) draw(); });
  video.addEventListener("timeupdate", playhead);
  video.play().catch(() => {});
})();
