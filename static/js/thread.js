// Kindred: a forum thread page that updates itself when a post is added, edited or removed.
// The live frame only says "something changed"; the page fetches itself again over HTTP, so what
// appears is exactly what the server renders (and sanitizes) for this reader. No dependencies.
(function () {
  "use strict";

  var posts = document.getElementById("thread-posts");
  if (!posts) return;
  var thread = posts.getAttribute("data-thread");
  var member = document.body.getAttribute("data-member") === "1";
  var live = window.kindredSocket; // the page's one socket (static/js/socket.js)
  if (!live) return;
  var connectedBefore = false;
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
    live.listen({
      open: function () {
        if (connectedBefore) refresh(); // changes made while we were away
        connectedBefore = true;
        live.watch("thread:" + thread);
        if (member) live.watch("member:me");
      },
      frame: function (frame) {
        if (frame.type === "thread" && String(frame.thread) === thread) refresh();
        if (frame.type === "notify" && window.kindredNotified) window.kindredNotified(frame.count, frame.review);
      },
    });
  }

  connect();
})();
