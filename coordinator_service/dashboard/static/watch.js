// StreamrP2P watch page: plays /watch/STREAM.m3u8 (redirected by the coordinator to a friend's
// relay) with hls.js, or the browser's native HLS when hls.js is not there. Shows who relays it
// and starts over through the coordinator when a relay disappears.
"use strict";
(function () {
  const video = document.getElementById("player");
  const relayed = document.getElementById("relayed-by");
  if (!video) { return; }
  const source = video.dataset.src;
  const stream = video.dataset.stream;
  const state = { segments: 0, restarts: 0, url: "", relayedBy: "", engine: "" };
  window.streamrPlayer = state;
  let hls = null;
  let backoff = 1000;
  let lastUrl = "";

  function say(text) { if (relayed) { relayed.textContent = text; } }

  async function showRelay(url) {
    if (!url || url === lastUrl) { return; }
    lastUrl = url;
    state.url = url;
    try {
      const response = await fetch("/api/v1/watch/" + encodeURIComponent(stream) +
        "/node?url=" + encodeURIComponent(url), { credentials: "omit" });
      const body = await response.json();
      state.relayedBy = body.relayed_by || "";
      if (body.relayed_by) { say("Relayed by " + body.relayed_by); }
      else if (body.origin) { say("Straight from the streamer (no friend's relay free)"); }
      else { say("Relayed by a friend's node"); }
    } catch (err) { say("Relayed by a friend's node"); }
  }

  function restart(reason) {
    state.restarts += 1;
    say("Reconnecting (" + reason + ")…");
    lastUrl = "";
    if (hls) { hls.destroy(); hls = null; }
    if (state.engine === "native") { video.removeAttribute("src"); video.load(); }
    const wait = backoff;
    backoff = Math.min(backoff * 2, 10000);
    setTimeout(start, wait);
  }

  function startHlsJs() {
    state.engine = "hls.js";
    hls = new window.Hls({
      liveSyncDurationCount: 3,
      manifestLoadingMaxRetry: 1, levelLoadingMaxRetry: 2, fragLoadingMaxRetry: 2,
      manifestLoadingTimeOut: 8000, levelLoadingTimeOut: 8000, fragLoadingTimeOut: 15000,
    });
    hls.on(window.Hls.Events.LEVEL_LOADED, function (_event, data) {
      const details = data.details || {};
      const network = data.networkDetails || {};
      showRelay(network.responseURL || details.url || "");
    });
    hls.on(window.Hls.Events.FRAG_LOADED, function () {
      state.segments += 1;
      backoff = 1000;
      video.dataset.segments = String(state.segments);
    });
    hls.on(window.Hls.Events.ERROR, function (_event, data) {
      if (data.fatal) { restart(data.details || data.type); }
    });
    hls.loadSource(source);
    hls.attachMedia(video);
  }

  async function startNative() {
    state.engine = "native";
    // Ask the coordinator which relay to use, then play that playlist, so the page can say who
    // relays it; if the relay does not allow that (no CORS), let the video follow the redirect.
    let target = source;
    try {
      const response = await fetch(source, { cache: "no-store" });
      if (response.ok) { target = response.url; }
    } catch (err) { target = source; }
    video.src = target;
    if (target !== source) { showRelay(target); }
    else { video.addEventListener("loadedmetadata", function () { say("Playing"); }, { once: true }); }
    video.addEventListener("error", function () { restart("playback error"); }, { once: true });
  }

  // native HLS reports no segments; count its downloads of media data instead
  video.addEventListener("progress", function () {
    if (state.engine === "native") { state.segments += 1; backoff = 1000; }
  });

  function start() {
    if (window.Hls && window.Hls.isSupported()) { startHlsJs(); return; }
    if (video.canPlayType("application/vnd.apple.mpegurl")) { startNative(); return; }
    say("This browser cannot play HLS here; open " + source + " in VLC or another HLS player.");
  }

  video.addEventListener("timeupdate", function () {
    video.dataset.time = video.currentTime.toFixed(1);
  });
  // Keep trying to play: muted autoplay is allowed, and a live stream should not sit paused
  // after a reconnect.
  video.addEventListener("canplay", function () { video.play().catch(function () {}); });
  start();
})();
