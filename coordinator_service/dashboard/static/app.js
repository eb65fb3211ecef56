// StreamrP2P dashboard: live refresh of [data-live] regions and copy buttons. No framework.
"use strict";
(function () {
  const REFRESH_MS = 5000;
  const status = document.getElementById("live-status");

  function setStatus(text) { if (status) { status.textContent = text; } }

  async function refresh() {
    const regions = document.querySelectorAll("[data-live][id]");
    if (!regions.length || document.hidden) { return; }
    try {
      const response = await fetch(window.location.href, {
        headers: { "X-Live-Refresh": "1" }, credentials: "same-origin", redirect: "follow",
      });
      if (response.redirected && new URL(response.url).pathname === "/login") {
        setStatus("Signed out: reload the page to sign in again.");
        return "stop";
      }
      if (!response.ok) { setStatus("Live updates paused (" + response.status + ")."); return; }
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      regions.forEach(function (region) {
        const fresh = doc.getElementById(region.id);
        if (fresh && fresh.innerHTML !== region.innerHTML && !region.contains(document.activeElement)) {
          region.innerHTML = fresh.innerHTML;
        }
      });
      setStatus("Updated " + new Date().toLocaleTimeString());
    } catch (err) {
      setStatus("Live updates paused: the coordinator did not answer.");
    }
  }

  function loop() {
    refresh().then(function (result) { if (result !== "stop") { setTimeout(loop, REFRESH_MS); } });
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy]");
    if (!button) { return; }
    const field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) { return; }
    field.select();
    const done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
    } else { document.execCommand("copy"); done(); }
  });

  // Sections that fill themselves from another page (e.g. the payout preview's credit reasons).
  document.querySelectorAll("[data-load][id]").forEach(async function (section) {
    try {
      const response = await fetch(section.getAttribute("data-load"), { credentials: "same-origin" });
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = doc.getElementById(section.id);
      if (fresh) { section.innerHTML = fresh.innerHTML; section.setAttribute("data-loaded", "1"); }
    } catch (err) { /* the link in the section still leads to the page */ }
  });

  if (document.querySelector("[data-live][id]")) { setTimeout(loop, REFRESH_MS); }
})();
