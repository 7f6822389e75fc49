// Kindred: a forum thread page that updates itself when a post is added, edited or removed.
// The live frame only says "something changed"; the page fetches itself again over HTTP, so what
// appears is exactly what the server renders (and sanitizes) for this reader. No dependencies.
(function () {
  "use strict";

  var posts = document.getElementById("thread-posts");
  if (!posts) return;
  var thread = posts.getAttribute("data-thread");
  var member = document.body.getAttribute("data-member") === "1";
  var socket = null;
  var attempt = 0;
  var refreshing = false;
  var again = false;

  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("thread-posts");
        if (!fresh) return;
        // Only the list of posts is replaced: a reply being typed below it is left alone.
        var incoming = document.importNode(fresh, true);
        posts.replaceChildren.apply(posts, Array.prototype.slice.call(incoming.childNodes));
      })
      .catch(function () { /* offline: the next change or reconnect fetches again */ })
      .then(function () {
        refreshing = false;
        if (again) { again = false; refresh(); }
      });
  }

  function connect() {
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    socket = ws;
    ws.onopen = function () {
      if (attempt > 0) refresh(); // changes made while we were away
      attempt = 0;
      ws.send(JSON.stringify({ type: "watch", topic: "thread:" + thread }));
      if (member) ws.send(JSON.stringify({ type: "watch", topic: "member:me" }));
    };
    ws.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "thread" && String(frame.thread) === thread) refresh();
      if (frame.type === "notify" && window.kindredNotified) window.kindredNotified(frame.count, frame.review);
    };
    ws.onclose = function (event) {
      if (socket !== ws || event.code === 1008 || event.code === 4001) return;
      attempt += 1;
      var delay = (event.code === 1012 ? 250 : Math.min(30000, 500 * Math.pow(2, attempt))) * (0.5 + Math.random());
      setTimeout(connect, delay);
    };
  }

  connect();
})();
