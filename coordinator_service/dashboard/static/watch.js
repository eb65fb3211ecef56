// StreamrP2P watch page: plays /watch/STREAM.m3u8 (the coordinator's playlist: a few friends'
// relays as HLS Content Steering pathways, the streamer's origin last) with hls.js, or with the
// browser's native HLS when hls.js is not there.
//
// hls.js moves to the next pathway when a relay stops answering (short timeouts, one retry), so
// losing a relay costs a short stall and no reload. The page says who relays what it plays,
// reports per segment which pathway served it (batched beacons to /api/v1/watch/reports with
// the playlist's report token), and starts over through the coordinator (no page reload) after
// a fatal error, or when it sat on the origin while relays were offered again.
"use strict";
(function () {
  const video = document.getElementById("player");
  const relayed = document.getElementById("relayed-by");
  if (!video) { return; }
  const secure = window.location.protocol === "https:";
  const source = video.dataset.src + (secure ? "?secure=1" : "");
  const stream = video.dataset.stream;
  const TOKEN_ID = "org.streamrp2p.report-token";
  const ORIGIN = "origin";
  const BACK_TO_RELAYS_MS = 30000;
  const REPORT_EVERY_MS = 5000;
  const REPORT_MAX = 50;
  const state = {
    segments: 0, restarts: 0, url: "", relayedBy: "", engine: "", pathway: "",
    pathways: [], switches: 0, reportsSent: 0, reportsAccepted: 0, reportsRefused: 0, token: "",
    events: [],
  };
  window.streamrPlayer = state;
  let hls = null;
  let backoff = 1000;
  let lastUrl = "";
  let hosts = {};          // "host:port" -> pathway id, for URLs the player fetches
  let onOriginSince = 0;
  let pending = [];
  let reportTimer = null;

  function say(text) { if (relayed) { relayed.textContent = text; } }

  // the last player events, for whoever debugs a stall (window.streamrPlayer.events)
  function note(name, detail) {
    state.events.push([Math.round(performance.now()), name, detail || ""]);
    if (state.events.length > 100) { state.events.shift(); }
  }

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
      else if (body.origin || state.pathway === ORIGIN) {
        say("Straight from the streamer (no friend's relay free)");
      } else { say("Relayed by a friend's node"); }
    } catch (err) { say("Relayed by a friend's node"); }
  }

  function sayHttpOnly() {
    say("No friend's relay serves this stream over HTTPS yet: open this page over http:// (" +
      "http://" + window.location.host + window.location.pathname + ").");
  }

  function hostOf(url) {
    try { return new URL(url, window.location.href).host; } catch (err) { return ""; }
  }

  function pathwayOf(url) { return hosts[hostOf(url)] || ""; }

  // --- viewer evidence: which pathway served each segment ----------------------------------

  function report(entry) {
    // the token covers the pathways of the playlist; clones added later are not reported
    if (!state.token || state.pathways.indexOf(entry.pathway) === -1) { return; }
    pending.push(entry);
    if (pending.length >= REPORT_MAX) { flush(false); }
  }

  function flush(leaving) {
    if (!state.token || pending.length === 0) { return; }
    const body = JSON.stringify({ token: state.token, reports: pending.splice(0, REPORT_MAX) });
    state.reportsSent += 1;
    if (leaving && navigator.sendBeacon) {
      navigator.sendBeacon("/api/v1/watch/reports", new Blob([body], { type: "application/json" }));
      return;
    }
    fetch("/api/v1/watch/reports", {
      method: "POST", body: body, keepalive: true, credentials: "omit",
      headers: { "Content-Type": "application/json" },
    }).then(function (response) {
      if (!response.ok) { state.reportsRefused += 1; return null; }
      state.reportsAccepted += 1;
      return response.json();
    }).then(function (answer) {
      if (answer && answer.token) { state.token = answer.token; }  // renewed before it expires
    }).catch(function () {});
  }

  function loadMs(stats) {
    const loading = (stats && stats.loading) || {};
    return Math.max(0, Math.round((loading.end || 0) - (loading.start || 0)));
  }

  // --- hls.js -----------------------------------------------------------------------------

  function restart(reason) {
    state.restarts += 1;
    say("Reconnecting (" + reason + ")…");
    lastUrl = "";
    flush(false);
    if (hls) { hls.destroy(); hls = null; }
    if (state.engine === "native") { video.removeAttribute("src"); video.load(); }
    const wait = backoff;
    backoff = Math.min(backoff * 2, 10000);
    setTimeout(start, wait);
  }

  function policy(firstByteMs, loadMs, retries) {
    const retry = { maxNumRetry: retries, retryDelayMs: 250, maxRetryDelayMs: 1000 };
    return {
      default: {
        maxTimeToFirstByteMs: firstByteMs, maxLoadTimeMs: loadMs,
        timeoutRetry: retry, errorRetry: retry,
      },
    };
  }

  function startHlsJs() {
    state.engine = "hls.js";
    hosts = {};
    const Hls = window.Hls;
    hls = new Hls({
      liveSyncDurationCount: 3,
      // a relay that stops answering is left quickly: one retry, then the next pathway
      manifestLoadPolicy: policy(8000, 10000, 1),
      playlistLoadPolicy: policy(2500, 5000, 1),
      fragLoadPolicy: policy(2500, 15000, 1),
      steeringManifestLoadPolicy: policy(5000, 8000, 1),
    });
    hls.on(Hls.Events.MANIFEST_LOADED, function (_event, data) {
      (data.levels || []).forEach(function (level) {
        const id = level.attrs && level.attrs["PATHWAY-ID"];
        if (id) { hosts[hostOf(level.url)] = id; }
      });
      const token = data.sessionData && data.sessionData[TOKEN_ID];
      state.token = (token && token.VALUE) || "";
      state.pathways = Object.values(hosts).filter(function (v, i, all) {
        return all.indexOf(v) === i;
      });
    });
    hls.on(Hls.Events.STEERING_MANIFEST_LOADED, function (_event, data) {
      const manifest = data.steeringManifest || {};
      (manifest["PATHWAY-CLONES"] || []).forEach(function (clone) {
        const uris = (clone["URI-REPLACEMENT"] || {})["PER-VARIANT-URIS"] || {};
        Object.values(uris).forEach(function (uri) { hosts[hostOf(uri)] = clone.ID; });
      });
      const priority = manifest["PATHWAY-PRIORITY"] || [];
      // relays are offered again but this player penalised them: start over to use them
      if (state.pathway === ORIGIN && priority.length > 1 && priority[0] !== ORIGIN &&
          onOriginSince && performance.now() - onOriginSince > BACK_TO_RELAYS_MS) {
        restart("back to a friend's relay");
      }
    });
    hls.on(Hls.Events.LEVELS_UPDATED, function () { note("pathway", hls.pathwayPriority); });
    hls.on(Hls.Events.LEVEL_LOADED, function (_event, data) {
      const details = data.details || {};
      const network = data.networkDetails || {};
      showRelay(network.responseURL || details.url || "");
    });
    hls.on(Hls.Events.FRAG_LOADED, function (_event, data) {
      const frag = data.frag;
      const pathway = pathwayOf(frag.url);
      note("frag", pathway + " " + frag.sn);
      if (pathway && pathway !== state.pathway) {
        if (state.pathway) { state.switches += 1; }
        state.pathway = pathway;
        onOriginSince = pathway === ORIGIN ? performance.now() : 0;
        showRelay(frag.url);
      }
      state.segments += 1;
      backoff = 1000;
      video.dataset.segments = String(state.segments);
      video.dataset.pathway = state.pathway;
      const stats = frag.stats || {};
      report({ pathway: pathway, uri: frag.url, ok: true, bytes: stats.total || stats.loaded || 0,
        ms: loadMs(stats) });
    });
    hls.on(Hls.Events.ERROR, function (_event, data) {
      const frag = data.frag;
      note("error", data.details + (data.fatal ? " fatal" : ""));
      if (frag && (data.details === Hls.ErrorDetails.FRAG_LOAD_ERROR ||
          data.details === Hls.ErrorDetails.FRAG_LOAD_TIMEOUT)) {
        report({ pathway: pathwayOf(frag.url), uri: frag.url, ok: false, bytes: 0,
          ms: loadMs(frag.stats) });
      }
      if (!data.fatal) { return; }
      const code = data.response && data.response.code;
      if (data.details === Hls.ErrorDetails.MANIFEST_LOAD_ERROR && code === 409 && secure) {
        hls.destroy(); hls = null;
        sayHttpOnly();
        return;
      }
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && state.restarts < 3) {
        hls.recoverMediaError();
        return;
      }
      restart(data.details || data.type);
    });
    hls.loadSource(source);
    hls.attachMedia(video);
  }

  async function startNative() {
    state.engine = "native";
    // Native HLS (Safari…) gets the coordinator's playlist's first pathway, so the page can
    // say who relays it; a dead relay means starting over through the coordinator.
    let target = source;
    try {
      const response = await fetch(source, { cache: "no-store" });
      if (response.status === 409 && secure) { sayHttpOnly(); return; }
      if (response.ok) {
        const first = (await response.text()).split("\n").find(function (line) {
          return line && !line.startsWith("#");
        });
        if (first) { target = new URL(first, response.url).href; }
      }
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
  reportTimer = setInterval(function () { flush(false); }, REPORT_EVERY_MS);
  window.addEventListener("pagehide", function () { clearInterval(reportTimer); flush(true); });
  start();
})();
