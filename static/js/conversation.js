// A private conversation, live over /ws as a room of two ("dm:<id>", docs/protocol.md): history on join,
// resume after the last seq seen, sends acknowledged after commit and retried with the same client id.
// The connection is the page's one socket (static/js/socket.js: reconnects with jittered backoff).
(function () {
  "use strict";
  var root = document.getElementById("conversation");
  var live = window.kindredSocket;
  if (!root || !live) return;
  var room = root.getAttribute("data-room");
  var me = parseInt(root.getAttribute("data-user-id"), 10);
  var epoch = root.getAttribute("data-epoch");
  var lastSeq = parseInt(root.getAttribute("data-last-seq") || "0", 10);
  var list = document.getElementById("messages");
  var status = document.getElementById("live-status");
  var typingNote = document.getElementById("typing");
  var form = document.getElementById("composer");
  var body = document.getElementById("composer-body");
  var errorNote = document.getElementById("composer-error");
  var scroller = document.getElementById("message-scroller");
  var label = function (name) { return root.getAttribute("data-label-" + name) || ""; };
  var seen = {};
  var pending = []; // {client_id, body, element}: sent again, with the same id, until acknowledged
  var joined = false;
  var ended = false;
  var typingTimer = null;
  var lastTyping = 0;

  Array.prototype.forEach.call(list.querySelectorAll("li[data-seq]"), function (item) {
    seen[item.getAttribute("data-seq")] = true;
  });

  function setStatus(text) { status.textContent = text; }

  function scrollDown() { scroller.scrollTop = scroller.scrollHeight; }

  function clientId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function timeText(iso) {
    try {
      return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    } catch (e) {
      return "";
    }
  }

  function item(author, text, iso) {
    var li = document.createElement("li");
    li.className = "message";
    var meta = document.createElement("p");
    meta.className = "message-meta";
    var who = document.createElement("span");
    who.className = "author";
    who.textContent = author;
    meta.appendChild(who);
    var time = document.createElement("time");
    if (iso) {
      time.setAttribute("datetime", iso);
      time.textContent = " " + timeText(iso);
    }
    meta.appendChild(time);
    var p = document.createElement("p");
    p.className = "message-body";
    p.textContent = text;
    li.appendChild(meta);
    li.appendChild(p);
    var placeholder = document.getElementById("no-messages");
    if (placeholder) placeholder.remove();
    list.appendChild(li);
    scrollDown();
    return li;
  }

  function showMessage(frame) {
    if (frame.seq > lastSeq) lastSeq = frame.seq;
    if (seen[frame.seq]) return;
    seen[frame.seq] = true;
    for (var i = 0; i < pending.length; i++) {
      if (pending[i].client_id === frame.client_id && frame.author && frame.author.id === me) {
        var element = pending[i].element;
        element.setAttribute("data-seq", frame.seq);
        element.classList.remove("pending");
        pending.splice(i, 1);
        return;
      }
    }
    var mine = frame.author && frame.author.id === me;
    var name = mine ? root.getAttribute("data-my-name") : frame.author ? frame.author.display_name : "";
    var li = item(name, frame.body, frame.created_at);
    li.setAttribute("data-seq", frame.seq);
    typingNote.textContent = "";
  }

  function sendFrame(frame) { live.send(frame); }

  function flush() {
    if (!joined) return;
    pending.forEach(function (entry) {
      sendFrame({ type: "send", room: room, client_id: entry.client_id, body: entry.body });
    });
  }

  function end() {
    ended = true;
    setStatus(label("ended"));
    if (form) form.hidden = true;
  }

  // --- a mute in the whole community holds here too (docs/protocol.md, muted / unmuted) ------------------
  // A room's mute does not; the server refuses a muted member's sends whatever this page shows.
  var communitySlug = root.getAttribute("data-community");
  var mutedBanner = document.getElementById("composer-muted");
  var sendButton = document.getElementById("composer-send");
  var mute = null; // {reason, until (ms, or null: until lifted)} while one is known
  var muteTimer = null;

  function endText(ms) { return window.kindredFormatMoment(ms, root.getAttribute("data-time-zone")); }

  function showMute(starting) {
    if (mute && mute.until !== null && mute.until <= Date.now()) mute = null; // it has ended
    var text = "";
    if (mute) {
      text = mute.until === null ? label("muted-community-lifted")
        : label("muted-community").replace("%(time)s", endText(mute.until));
      // A function, so that "$&" or "$$" in the leader's words stay as written.
      if (mute.reason) text += " " + label("mute-reason").replace("%(reason)s", function () { return mute.reason; });
    }
    if (mutedBanner && !starting) { // as the page opens, the server's words stay
      mutedBanner.textContent = text;
      mutedBanner.hidden = !text;
    }
    if (body) body.disabled = !!mute;
    if (sendButton) sendButton.disabled = !!mute;
    clearTimeout(muteTimer);
    if (mute && mute.until !== null) {
      muteTimer = setTimeout(function () { showMute(false); }, Math.min(mute.until - Date.now() + 500, 2147483000));
    }
  }

  function muteOf(reason, until) {
    var end = until ? new Date(until).getTime() : null;
    return { reason: reason || "", until: end !== null && !isNaN(end) ? end : null };
  }

  if (form && form.getAttribute("data-muted") === "1") {
    mute = muteOf(root.getAttribute("data-muted-reason"), root.getAttribute("data-muted-until") || null);
    showMute(true);
  }

  function onFrame(frame) {
    if (frame.type === "muted" && frame.community === communitySlug && !frame.room) {
      mute = muteOf(frame.reason, frame.until);
      showMute(false);
      return;
    }
    if (frame.type === "unmuted" && frame.community === communitySlug) {
      mute = null;
      showMute(false);
      return;
    }
    if (frame.type === "joined" && frame.room === room) {
      if (frame.user_id !== undefined && frame.user_id !== me) {
        window.location.reload();
        return;
      }
      if (frame.epoch !== epoch) {
        window.location.reload();
        return;
      }
      // The mute in force now, for a page whose socket was down when a leader muted or unmuted its member.
      if (frame.user_id !== undefined && form) {
        var told = frame.muted ? muteOf(frame.muted.reason, frame.muted.until || null) : null;
        var same = told && mute ? told.reason === mute.reason && told.until === mute.until : told === mute;
        if (!same) { mute = told; showMute(false); }
      }
      joined = true;
      setStatus(label("online"));
      flush();
    } else if (frame.type === "message" && frame.room === room) {
      showMessage(frame);
    } else if (frame.type === "ack" && frame.room === room) {
      for (var i = 0; i < pending.length; i++) {
        if (pending[i].client_id === frame.client_id) {
          var entry = pending.splice(i, 1)[0];
          entry.element.classList.remove("pending");
          entry.element.setAttribute("data-seq", frame.seq);
          var time = entry.element.querySelector("time");
          time.setAttribute("datetime", frame.created_at);
          time.textContent = " " + timeText(frame.created_at);
          seen[frame.seq] = true; // its own frame still comes, and moves lastSeq (showMessage)
          break;
        }
      }
    } else if (frame.type === "resync" && frame.room === room) {
      window.location.reload();
    } else if (frame.type === "typing" && frame.room === room && frame.user && frame.user.id !== me) {
      typingNote.textContent = label("typing");
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { typingNote.textContent = ""; }, 4000);
    } else if (frame.type === "error") {
      if (frame.ref === room && (frame.code === "forbidden" || frame.code === "not_found")) {
        end();
      } else if (frame.ref && pending.some(function (entry) { return entry.client_id === frame.ref; })) {
        errorNote.textContent = frame.message;
        if (frame.code === "unavailable" || frame.code === "rate_limited") setTimeout(flush, 3000);
        else pending = pending.filter(function (entry) {
          if (entry.client_id !== frame.ref) return true;
          // Refused for good (muted, too long...): the words go back in the box, so that nothing is lost.
          if (body && !body.value) body.value = entry.body;
          entry.element.remove();
          return false;
        });
      }
    }
  }

  function connect() {
    live.listen({
      connecting: function () { if (!ended) setStatus(label("connecting")); },
      open: function () {
        // An ended conversation is not joined again (the socket stays, for the header's notifications).
        if (!ended) live.send({ type: "join", room: room, since: lastSeq, epoch: epoch });
        live.watch("member:me"); // brings a leader's mute or unmute in the community (notify.js's too)
      },
      frame: onFrame,
      close: function () {
        joined = false;
        setStatus(label("offline"));
      },
    });
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = body.value.trim();
      if (!text || ended || mute) return;
      errorNote.textContent = "";
      var entry = { client_id: clientId(), body: text };
      entry.element = item(root.getAttribute("data-my-name"), text, null);
      entry.element.classList.add("pending");
      entry.element.querySelector("time").textContent = " " + label("pending");
      pending.push(entry);
      body.value = "";
      sendFrame({ type: "send", room: room, client_id: entry.client_id, body: text });
    });
    body.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    body.addEventListener("input", function () {
      if (joined && Date.now() - lastTyping > 3000) {
        lastTyping = Date.now();
        sendFrame({ type: "typing", room: room });
      }
    });
  }

  scrollDown();
  connect();
})();
