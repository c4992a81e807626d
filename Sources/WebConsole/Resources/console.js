// git-pipeline's web console: live pages with no framework. Served by the console itself.
(function () {
  "use strict";

  // A page showing the store fetches itself again when the store changes and swaps its <main>.
  var live = document.body.getAttribute("data-live");
  var busy = false, again = false;

  function typing() {
    var active = document.activeElement;
    return !!(active && active.closest && active.closest("main form") &&
      (active.tagName === "INPUT" || active.tagName === "TEXTAREA" || active.tagName === "SELECT"));
  }

  // <details> the reader opened stay open.
  function keepOpen(current, fresh) {
    var before = current.querySelectorAll("details"), after = fresh.querySelectorAll("details");
    for (var i = 0; i < before.length && i < after.length; i++) {
      if (before[i].open) after[i].open = true;
    }
  }

  function refresh() {
    if (busy || typing()) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin", headers: { "X-Console-Refresh": "1" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("main"), current = document.querySelector("main");
        if (fresh && current) {
          keepOpen(current, fresh);
          var said = fresh.querySelector(".said");
          if (said) said.remove();
          current.replaceWith(fresh);
          document.body.setAttribute("data-refreshed", String(Date.now()));
        }
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) { again = false; setTimeout(refresh, 250); }
      });
  }

  if (live && window.EventSource) {
    var changes = new EventSource(live);
    changes.addEventListener("ready", function () { document.body.setAttribute("data-live-ready", "1"); });
    changes.addEventListener("change", refresh);
    document.addEventListener("focusout", function () { if (again) { again = false; setTimeout(refresh, 100); } });
    // Durations grow while something runs.
    setInterval(function () { if (document.querySelector("main .pill.st-InProgress")) refresh(); }, 5000);
  }

  // A log that grows: appended as it comes, followed while the reader is at the bottom.
  var log = document.getElementById("log");
  if (log && log.getAttribute("data-stream") && window.EventSource) {
    var follow = true;
    window.addEventListener("scroll", function () {
      follow = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    });
    var stream = new EventSource(log.getAttribute("data-stream"));
    stream.addEventListener("open", function () { log.setAttribute("data-streaming", "1"); });
    stream.addEventListener("log", function (event) {
      log.appendChild(document.createTextNode(JSON.parse(event.data)));
      if (follow) window.scrollTo(0, document.body.scrollHeight);
    });
    stream.addEventListener("end", function (event) {
      stream.close();
      log.setAttribute("data-ended", event.data);
      var holder = document.getElementById("log-status");
      if (holder) {
        var pill = document.createElement("span");
        pill.className = "pill st-" + event.data;
        pill.textContent = event.data;
        holder.replaceChildren(pill);
      }
    });
  }
})();
