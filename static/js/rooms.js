// Kindred: a community's room list with live unread counts (docs/protocol.md: rooms:<slug>, room_activity, unread).
// Its own small socket, apart from live.js. No dependencies.
(function () {
  "use strict";

  function start() {
    if (document.body.getAttribute("data-member") !== "1") return;
    var list = document.querySelector("[data-room-list]");
    if (!list || list.getAttribute("data-counts") !== "1") return; // only members have unread counts
    var slug = list.getAttribute("data-room-list");
    var me = list.getAttribute("data-me") || "";
    // The room page's and thread page's own scripts keep the header's notification count.
    var forwardNotify = !document.getElementById("live-room") && !document.getElementById("thread-posts");
    var counted = {}; // room → {seq: true} of messages already counted
    var readUpTo = {}; // room → the read position the server last told
    var attempt = 0;
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
      if (me && String(frame.author) === me) return; // one's own message is not unread
      if (frame.seq <= (readUpTo[frame.room] || 0)) return;
      var seen = counted[frame.room] || (counted[frame.room] = {});
      if (seen[frame.seq]) return;
      seen[frame.seq] = true;
      var li = items(frame.room)[0];
      if (!li || li.getAttribute("data-current") === "1") return; // the room being read
      setCount(frame.room, (parseInt(li.getAttribute("data-unread") || "0", 10) || 0) + 1);
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
      var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
      ws.onopen = function () {
        attempt = 0;
        ws.send(JSON.stringify({ type: "watch", topic: "rooms:" + slug }));
        ws.send(JSON.stringify({ type: "watch", topic: "member:me" }));
        if (connectedBefore) refresh();
        connectedBefore = true;
      };
      ws.onmessage = function (event) {
        var frame;
        try { frame = JSON.parse(event.data); } catch (e) { return; }
        if (frame.type === "room_activity") onActivity(frame);
        else if (frame.type === "watching" && frame.topic === "rooms:" + slug) list.setAttribute("data-live", "1");
        else if (frame.type === "unread") onUnread(frame);
        else if (frame.type === "notify" && forwardNotify && window.kindredNotified) window.kindredNotified(frame.count, frame.review);
      };
      ws.onclose = function (event) {
        list.removeAttribute("data-live");
        if (event.code === 1008 || event.code === 4001) return;
        attempt += 1;
        var soon = event.code === 1012 || event.code === 4008;
        setTimeout(connect, (soon ? 250 : Math.min(30000, 1000 * Math.pow(2, attempt))) * (0.5 + Math.random()));
      };
    }
    connect();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
