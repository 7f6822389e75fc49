// Kindred: a community's room list with live unread counts (docs/protocol.md: rooms:<slug>, room_activity, unread).
// It listens on the page's one socket (static/js/socket.js), which the room page's live.js shares. No dependencies.
(function () {
  "use strict";

  function start() {
    if (document.body.getAttribute("data-member") !== "1") return;
    var list = document.querySelector("[data-room-list]");
    if (!list || list.getAttribute("data-counts") !== "1") return; // only members have unread counts
    var live = window.kindredSocket;
    if (!live) return;
    var slug = list.getAttribute("data-room-list");
    var me = list.getAttribute("data-me") || "";
    // The room page's and thread page's own scripts keep the header's notification count.
    var forwardNotify = !document.getElementById("live-room") && !document.getElementById("thread-posts");
    var counted = {}; // room → {seq: true} of messages already counted
    var readUpTo = {}; // room → the read position the server last told
    var connectedBefore = false;

    function items(room) {
      return Array.prototype.filter.call(document.querySelectorAll("[data-room-list] li[data-room]"), function (li) {
        return li.getAttribute("data-room") === room;
      });
    }

    function text(count) {
      var template = list.getAttribute(count === 1 ? "data-label-one" : "data-label-other") || "%(num)s";
      return template.replace("%(num)s", String(count));
    }

    function show(badge, count) {
      if (!badge) return;
      badge.textContent = text(count);
      badge.hidden = count <= 0;
    }

    function total() {
      var sum = 0;
      Array.prototype.forEach.call(list.querySelectorAll("li[data-room]"), function (li) {
        sum += parseInt(li.getAttribute("data-unread") || "0", 10) || 0;
      });
      Array.prototype.forEach.call(document.querySelectorAll("[data-room-total]"), function (badge) {
        show(badge, sum);
      });
    }

    function setCount(room, count) {
      items(room).forEach(function (li) {
        li.setAttribute("data-unread", String(count));
        show(li.querySelector(".unread-count"), count);
      });
      total();
    }

    function onActivity(frame) {
      if (frame.gone) { onGone(frame); return; }
      if (me && String(frame.author) === me) return; // one's own message is not unread
      if (frame.seq <= (readUpTo[frame.room] || 0)) return;
      var seen = counted[frame.room] || (counted[frame.room] = {});
      if (seen[frame.seq]) return;
      seen[frame.seq] = true;
      var li = items(frame.room)[0];
      if (!li || li.getAttribute("data-current") === "1") return; // the room being read
      setCount(frame.room, (parseInt(li.getAttribute("data-unread") || "0", 10) || 0) + 1);
    }

    // A message others could see is gone (removed, held again, deleted). Counted here: take it back. Perhaps
    // counted in the page's own figure: only the server knows, so read the counts again, a little later and at
    // a random moment, so that a removal does not bring every open list back to the server at once.
    var refreshTimer = null;
    function onGone(frame) {
      var seen = counted[frame.room];
      var li = items(frame.room)[0];
      if (!li || li.getAttribute("data-current") === "1") return;
      var count = parseInt(li.getAttribute("data-unread") || "0", 10) || 0;
      if (seen && seen[frame.seq]) {
        delete seen[frame.seq];
        setCount(frame.room, Math.max(0, count - 1));
        return;
      }
      if (count <= 0 || frame.seq <= (readUpTo[frame.room] || 0) || refreshTimer) return;
      refreshTimer = setTimeout(function () { refreshTimer = null; refresh(); }, 300 + Math.random() * 2000);
    }

    function onUnread(frame) {
      readUpTo[frame.room] = Math.max(readUpTo[frame.room] || 0, frame.seq);
      setCount(frame.room, frame.count);
    }

    // After a reconnect, messages may have come meanwhile: the counts are read again from the list page.
    function refresh() {
      fetch("/c/" + encodeURIComponent(slug) + "/rooms", { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (html) {
          if (!html) return;
          var page = new DOMParser().parseFromString(html, "text/html");
          Array.prototype.forEach.call(page.querySelectorAll("[data-room-list] li[data-room]"), function (li) {
            var room = li.getAttribute("data-room");
            var mine = items(room)[0];
            if (mine && mine.getAttribute("data-current") !== "1") {
              setCount(room, parseInt(li.getAttribute("data-unread") || "0", 10) || 0);
            }
          });
        })
        .catch(function () {});
    }

    function connect() {
      live.listen({
        open: function () {
          live.watch("rooms:" + slug);
          live.watch("member:me");
          if (connectedBefore) refresh();
          connectedBefore = true;
        },
        frame: function (frame) {
          if (frame.type === "room_activity") onActivity(frame);
          else if (frame.type === "watching" && frame.topic === "rooms:" + slug) list.setAttribute("data-live", "1");
          else if (frame.type === "unread") onUnread(frame);
          else if (frame.type === "notify" && forwardNotify && window.kindredNotified) window.kindredNotified(frame.count, frame.review);
        },
        close: function () { list.removeAttribute("data-live"); },
      });
    }
    connect();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
