// live.js keeps a call page's roster and result current without a reload. The page works without
// it: this only swaps in the same server-rendered partials the page was drawn with, sent as
// Server-Sent Events by GET .../events. No data is rendered here, so nothing escapes the server's
// escaping.
(function () {
  "use strict";
  var roster = document.getElementById("roster");
  var result = document.getElementById("result");
  var status = document.getElementById("live-status");
  if (!roster || !window.EventSource) { return; }
  var url = roster.getAttribute("data-events");
  var state = roster.getAttribute("data-state");
  var pending = {};
  var retryDelay = 2000;
  var source = null;

  function say(text) { if (status) { status.textContent = text; } }

  // Replacing the roster while someone types a note in one of its forms would lose the note:
  // hold the update until focus leaves the container.
  function busy(el) {
    var a = document.activeElement;
    return a && el.contains(a) && (a.tagName === "INPUT" || a.tagName === "TEXTAREA" || a.tagName === "BUTTON");
  }

  function apply(el, html) {
    if (busy(el)) { pending[el.id] = html; return false; }
    delete pending[el.id];
    el.innerHTML = html;
    return true;
  }

  function flush(e) {
    var el = e.currentTarget;
    setTimeout(function () {
      if (pending[el.id] !== undefined && !busy(el)) { apply(el, pending[el.id]); }
    }, 0);
  }
  roster.addEventListener("focusout", flush);
  if (result) { result.addEventListener("focusout", flush); }

  function summary() {
    var s = roster.querySelector("[data-summary]");
    return s ? s.textContent.trim() : "";
  }

  function connect() {
    source = new EventSource(url);
    source.addEventListener("open", function () { retryDelay = 2000; });
    source.addEventListener("state", function (e) {
      if (state === "open" && e.data === "closed") {
        say("This call has just closed. The result is below; reload the page to update the forms.");
      }
      state = e.data;
    });
    source.addEventListener("roster", function (e) {
      var before = summary();
      apply(roster, e.data);
      var after = summary();
      if (after && after !== before) { say("Roster updated: " + after); }
    });
    source.addEventListener("result", function (e) {
      if (result) { apply(result, e.data); }
    });
    source.addEventListener("error", function () {
      // EventSource retries by itself while the stream is merely interrupted; when the server
      // refused outright it gives up (CLOSED), so try again later, more slowly each time.
      if (source.readyState === EventSource.CLOSED) {
        say("Live updates paused. Trying again shortly; reload the page for the latest state.");
        setTimeout(connect, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 60000);
      }
    });
  }
  connect();
}());
