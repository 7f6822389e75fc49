// Kindred live room client: no dependencies, no build step.
// Follows docs/protocol.md: resume with since + epoch, dedupe and order by seq, an outbox that
// retries unacknowledged messages with the same client id. The connection is the page's one socket
// (static/js/socket.js: reconnects with jittered backoff), which rooms.js shares.
(function () {
  "use strict";

  var root = document.getElementById("live-room");
  var live = window.kindredSocket;
  if (!root || !live) return;

  var room = root.getAttribute("data-room");
  var me = root.getAttribute("data-user-id");
  var moderator = root.getAttribute("data-moderator") === "1";
  var canFlag = root.getAttribute("data-can-flag") === "1";
  var flagBase = root.getAttribute("data-flag-base") || "";
  var label = function (name) { return root.getAttribute("data-label-" + name) || ""; };
  var list = document.getElementById("messages");
  var statusLine = document.getElementById("live-status");
  var presenceList = document.getElementById("presence");
  var typingLine = document.getElementById("typing");
  var composer = document.getElementById("composer");
  var composerBody = document.getElementById("composer-body");
  var composerError = document.getElementById("composer-error");
  var emptyNote = document.getElementById("no-messages");
  var scroller = document.getElementById("message-scroller") || list;
  var jumpButton = document.getElementById("jump-latest");
  var enterSendsBox = document.getElementById("enter-sends");
  var replyBar = document.getElementById("reply-bar");
  var replyText = document.getElementById("reply-text");
  var mentionList = document.getElementById("mention-list");
  var replyTo = null; // {seq, author, excerpt} while the member is writing a reply
  // Where the "new messages" line goes: the seq this member had read when the page opened.
  var readAtOpen = root.getAttribute("data-last-read");
  readAtOpen = me && readAtOpen !== null && readAtOpen !== "" ? parseInt(readAtOpen, 10) || 0 : null;
  // Slow mode as this member meets it (0 for leaders): the countdown shows before a send would be refused.
  var slowSeconds = parseInt(root.getAttribute("data-slow-mode") || "0", 10) || 0;
  var slowUntil = Date.now() + (parseInt(root.getAttribute("data-slow-wait") || "0", 10) || 0) * 1000;
  var slowTimer = null;
  var atBottom = true; // the room opens at the newest message and follows new ones while the reader is there

  var epoch = root.getAttribute("data-epoch") || null;
  var lastSeq = parseInt(root.getAttribute("data-last-seq") || "0", 10) || 0; // every seq <= lastSeq is accounted for
  var seen = {};          // seq -> true, for every message or remove received above lastSeq
  var joinedOnThisSocket = false;
  var rejoinTimer = null;
  var gapTimer = null;
  var stopped = false;
  // Who is here (docs/protocol.md, presence_change): the latest snapshot plus the changes after it.
  var presenceVersion = 0;  // the version of the snapshot held (0: none yet)
  var presenceMembers = {}; // user id -> member, as shown
  var presenceChanges = {}; // user id -> {version, member, here}: the last change applied to that member
  var lastTypingSent = 0;
  var typingTimer = null;
  var readTimer = null;
  var lastReadSent = 0;
  // Per account and per room: on a shared tablet one member's unsent words are never sent (or
  // shown) under the next account. site.js clears other accounts' outboxes and this one on logout.
  var outboxKey = "kindred-outbox:" + me + ":" + room;
  var outbox = me ? loadOutbox() : {}; // client id -> {body, createdAt}

  // --- small helpers ------------------------------------------------------------------------

  function newClientId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function loadOutbox() {
    try { return JSON.parse(window.localStorage.getItem(outboxKey) || "{}") || {}; } catch (e) { return {}; }
  }

  function saveOutbox() {
    if (!me) return;
    try { window.localStorage.setItem(outboxKey, JSON.stringify(outbox)); } catch (e) { /* private mode: memory only */ }
  }

  function setStatus(text, offline) {
    statusLine.textContent = text;
    statusLine.classList.toggle("offline", !!offline);
  }

  function send(frame) { return live.send(frame); }

  function myName() {
    // The name this community shows (a pseudonym chosen for it), not the account's.
    var here = root.getAttribute("data-my-name");
    if (here) return here;
    var link = document.querySelector(".site-header nav a[href^='/u/']");
    return link ? link.textContent : "";
  }

  function formatTime(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return "";
    return date.toLocaleTimeString(document.documentElement.lang || undefined, { hour: "2-digit", minute: "2-digit" });
  }

  // --- the message list ---------------------------------------------------------------------

  function elementForSeq(seq) { return list.querySelector('li[data-seq="' + seq + '"]'); }
  function elementForClientId(id) { return list.querySelector('li[data-client-id="' + CSS.escape(id) + '"]'); }

  var BADGES = { leader: ["leader", "badge"], expert: ["expert", "badge badge-expert"], admin: ["admin", "badge badge-muted"] };

  function buildMessage(author, badge, createdAt, body) {
    var item = document.createElement("li");
    item.className = "message";
    item.setAttribute("data-created", createdAt);
    var meta = document.createElement("p");
    meta.className = "message-meta";
    var name = document.createElement("span");
    name.className = "author";
    name.textContent = author;
    meta.appendChild(name);
    if (BADGES[badge]) {
      var mark = document.createElement("span");
      mark.className = BADGES[badge][1];
      mark.textContent = label(BADGES[badge][0]);
      meta.appendChild(document.createTextNode(" "));
      meta.appendChild(mark);
      meta.appendChild(document.createTextNode(" "));
    }
    var time = document.createElement("time");
    time.setAttribute("datetime", createdAt);
    time.textContent = formatTime(createdAt);
    meta.appendChild(time);
    item.appendChild(meta);
    var text = document.createElement("p");
    text.className = "message-body";
    text.textContent = body; // never innerHTML: members' text is shown as text
    item.appendChild(text);
    return item;
  }

  // --- what a message carries: its quote, "edited", its reactions ------------------------------

  function setSeq(item, seq) {
    item.setAttribute("data-seq", String(seq));
    item.id = "message-" + seq;
    item.tabIndex = -1; // a quote's link moves the focus here
  }

  // A reply's quote of the message it answers; "message removed" once that is gone, never its text.
  function renderQuote(item, quote) {
    var old = item.querySelector(".reply-quote");
    if (old) old.parentNode.removeChild(old);
    if (!quote) return;
    var box = document.createElement("blockquote");
    box.className = "reply-quote";
    box.setAttribute("data-seq", String(quote.seq));
    if (quote.removed || quote.excerpt == null) {
      var gone = document.createElement("p");
      gone.className = "placeholder";
      gone.textContent = label("message-removed");
      box.appendChild(gone);
    } else {
      var meta = document.createElement("p");
      meta.className = "meta";
      var link = document.createElement("a");
      link.href = "#message-" + quote.seq;
      link.textContent = label("in-reply").replace("%(name)s", quote.author || "");
      meta.appendChild(link);
      box.appendChild(meta);
      var excerpt = document.createElement("p");
      excerpt.className = "reply-excerpt";
      excerpt.textContent = quote.excerpt;
      box.appendChild(excerpt);
    }
    item.insertBefore(box, item.querySelector(".message-body"));
  }

  // Replies quoting a message that went away: they say so now, and forget its words.
  function quotesGone(seq) {
    var quotes = list.querySelectorAll('.reply-quote[data-seq="' + seq + '"]');
    for (var i = 0; i < quotes.length; i++) renderQuote(quotes[i].parentNode, { seq: seq, removed: true });
  }

  function markEdited(item, editedAt) {
    if (!editedAt) return;
    var mark = item.querySelector(".edited-mark");
    if (!mark) {
      mark = document.createElement(moderator ? "button" : "span");
      mark.className = moderator ? "edited-mark link-button" : "edited-mark";
      if (moderator) mark.type = "button";
      mark.textContent = label("edited");
      var time = item.querySelector(".message-meta time");
      if (time) time.insertAdjacentElement("afterend", mark);
      else item.querySelector(".message-meta").appendChild(mark);
    }
    mark.setAttribute("data-edited", editedAt);
  }

  var REACTIONS = ["helped", "thanks"];

  function reactionsOf(item) {
    try { return JSON.parse(item.getAttribute("data-reactions") || "[]") || []; } catch (e) { return []; }
  }

  function myReaction(item) {
    var found = null;
    reactionsOf(item).forEach(function (reaction) {
      reaction.users.forEach(function (user) { if (String(user.id) === me) found = reaction.kind; });
    });
    return found;
  }

  // Counts and who reacted (by the names this community shows). The reader's own can be taken back here.
  function renderReactions(item, reactions) {
    if (reactions) item.setAttribute("data-reactions", JSON.stringify(reactions));
    reactions = reactionsOf(item);
    var row = item.querySelector(".message-reactions");
    if (row) row.parentNode.removeChild(row);
    if (!reactions.length) return;
    row = document.createElement("div");
    row.className = "message-reactions reactions";
    reactions.forEach(function (reaction) {
      var names = reaction.users.map(function (user) { return user.display_name; }).join(", ");
      var text = label(reaction.kind) + " · " + reaction.users.length;
      var mine = reaction.users.some(function (user) { return String(user.id) === me; });
      var chip;
      if (mayReact(item)) {
        chip = document.createElement("button");
        chip.type = "button";
        chip.className = "reaction small";
        chip.setAttribute("data-react", reaction.kind);
        chip.setAttribute("aria-pressed", mine ? "true" : "false");
      } else {
        chip = document.createElement("span");
        chip.className = "reaction-count meta";
      }
      chip.textContent = text;
      row.appendChild(chip);
      var who = document.createElement("span");
      who.className = "meta reactors";
      who.textContent = label("reacted").replace("%(what)s", label(reaction.kind)).replace("%(names)s", names);
      row.appendChild(who);
    });
    var body = item.querySelector(".message-body");
    body.insertAdjacentElement("afterend", row);
  }

  function authoredByMe(item) { return !!me && String(item.getAttribute("data-author")) === me; }
  function isOrdinary(item) {
    return item.hasAttribute("data-seq") && !item.classList.contains("pending") &&
      !item.classList.contains("held") && !item.classList.contains("removed");
  }
  function mayReact(item) { return composing() && isOrdinary(item) && !authoredByMe(item); }

  function react(item, kind) {
    var on = myReaction(item) !== kind;
    send({ type: "react", room: room, seq: parseInt(item.getAttribute("data-seq"), 10), kind: kind, on: on });
  }

  // --- the message menu: one "Message actions" button per message opens its actions --------------
  // Each entry: {name, label (a data-label- name), shows(item), run(item)}. Other features add theirs
  // with addMenuItem (moderators' actions, for instance); the menu is built when it is opened.

  var menuItems = [];

  function addMenuItem(entry) { menuItems.push(entry); }

  addMenuItem({ name: "reply", label: "reply", shows: function (item) { return composing() && isOrdinary(item); },
    run: function (item) { startReply(item); } });
  REACTIONS.forEach(function (kind) {
    addMenuItem({ name: "react-" + kind, label: kind, pressed: function (item) { return myReaction(item) === kind; },
      shows: mayReact, run: function (item) { react(item, kind); } });
  });
  addMenuItem({ name: "edit", label: "edit", shows: function (item) { return composing() && isOrdinary(item) && authoredByMe(item); },
    run: function (item) { startEdit(item); } });
  addMenuItem({ name: "delete", label: "delete",
    shows: function (item) { return composing() && authoredByMe(item) && item.hasAttribute("data-seq") && !item.classList.contains("pending"); },
    run: function (item) { confirmDelete(item); } });

  // Asked in the page, not in a browser dialog: the question, then "Delete" or "Cancel".
  function confirmDelete(item) {
    var box = document.createElement("div");
    box.className = "message-menu delete-confirm";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", label("confirm-delete"));
    var question = document.createElement("p");
    question.className = "meta";
    question.textContent = label("confirm-delete");
    var yes = document.createElement("button");
    yes.type = "button";
    yes.className = "small";
    yes.textContent = label("delete");
    var no = document.createElement("button");
    no.type = "button";
    no.className = "secondary small";
    no.textContent = label("cancel");
    box.appendChild(question);
    box.appendChild(yes);
    box.appendChild(no);
    var toggle = item.querySelector(".message-menu-toggle");
    var close = function () {
      if (box.parentNode) box.parentNode.removeChild(box);
      if (toggle) toggle.focus();
    };
    yes.addEventListener("click", function () {
      send({ type: "delete", room: room, seq: parseInt(item.getAttribute("data-seq"), 10) });
      close();
    });
    no.addEventListener("click", close);
    item.querySelector(".message-meta").insertAdjacentElement("afterend", box);
    yes.focus();
  }

  function ensureMenuButton(item) {
    if (item.querySelector(".message-menu-toggle") || !item.hasAttribute("data-seq")) return;
    var shown = menuItems.some(function (entry) { return entry.shows(item); });
    if (!shown) return;
    var toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "message-menu-toggle secondary small";
    toggle.setAttribute("aria-expanded", "false");
    toggle.setAttribute("aria-label", label("actions"));
    toggle.textContent = "⋯";
    var meta = item.querySelector(".message-meta");
    meta.appendChild(toggle);
  }

  function closeMenus(except) {
    var open = list.querySelectorAll(".message-menu");
    for (var i = 0; i < open.length; i++) {
      if (open[i] === except) continue;
      var owner = open[i].parentNode;
      var toggle = owner.querySelector(".message-menu-toggle");
      if (toggle) toggle.setAttribute("aria-expanded", "false");
      open[i].parentNode.removeChild(open[i]);
    }
  }

  function openMenu(item, toggle) {
    closeMenus(null);
    var menu = document.createElement("div");
    menu.className = "message-menu";
    menu.id = "menu-" + item.getAttribute("data-seq");
    menuItems.forEach(function (entry) {
      if (!entry.shows(item)) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary small menu-" + entry.name;
      button.textContent = label(entry.label);
      if (entry.pressed) button.setAttribute("aria-pressed", entry.pressed(item) ? "true" : "false");
      button.addEventListener("click", function () {
        closeMenus(null);
        toggle.focus();
        entry.run(item);
      });
      menu.appendChild(button);
    });
    toggle.setAttribute("aria-controls", menu.id);
    toggle.setAttribute("aria-expanded", "true");
    item.querySelector(".message-meta").insertAdjacentElement("afterend", menu);
    var first = menu.querySelector("button");
    if (first) first.focus();
  }

  // Everything a message shows besides its words, for one built here or sent with the page.
  function decorate(item) {
    upgradeRemoveLink(item);
    renderReactions(item, null);
    ensureMenuButton(item);
  }

  // --- replying and editing ---------------------------------------------------------------------

  function startReply(item) {
    var author = item.querySelector(".author");
    var body = item.querySelector(".message-body");
    replyTo = { seq: parseInt(item.getAttribute("data-seq"), 10), author: author ? author.textContent : "",
      excerpt: body ? body.textContent.slice(0, 200) : "" };
    replyText.textContent = label("replying").replace("%(name)s", replyTo.author) + ": " + replyTo.excerpt;
    replyBar.hidden = false;
    composerBody.focus();
  }

  function cancelReply() {
    replyTo = null;
    if (replyBar) replyBar.hidden = true;
  }

  function startEdit(item) {
    if (item.querySelector(".edit-form")) return;
    var body = item.querySelector(".message-body");
    var form = document.createElement("form");
    form.className = "edit-form";
    var fieldId = "edit-" + item.getAttribute("data-seq");
    var fieldLabel = document.createElement("label");
    fieldLabel.className = "visually-hidden";
    fieldLabel.setAttribute("for", fieldId);
    fieldLabel.textContent = label("edit-field");
    var field = document.createElement("textarea");
    field.id = fieldId;
    field.rows = 2;
    field.maxLength = 4000;
    field.value = body.textContent;
    var save = document.createElement("button");
    save.type = "submit";
    save.className = "small";
    save.textContent = label("save");
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "secondary small";
    cancel.textContent = label("cancel");
    form.appendChild(fieldLabel);
    form.appendChild(field);
    form.appendChild(save);
    form.appendChild(cancel);
    var done = function () {
      form.parentNode.removeChild(form);
      body.hidden = false;
      var toggle = item.querySelector(".message-menu-toggle");
      if (toggle) toggle.focus();
    };
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = field.value.trim();
      if (text && text !== body.textContent) {
        send({ type: "edit", room: room, seq: parseInt(item.getAttribute("data-seq"), 10), body: text });
      }
      done();
    });
    cancel.addEventListener("click", done);
    field.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { event.preventDefault(); done(); }
    });
    body.hidden = true;
    body.insertAdjacentElement("afterend", form);
    field.focus();
  }

  function onEdit(frame) {
    // Replies quoting it show its new words, as they would after a reload (the server quotes 200 characters).
    var excerpts = list.querySelectorAll('.reply-quote[data-seq="' + frame.seq + '"] .reply-excerpt');
    for (var i = 0; i < excerpts.length; i++) excerpts[i].textContent = Array.from(frame.body).slice(0, 200).join("");
    var item = elementForSeq(frame.seq);
    if (!item) return;
    item.querySelector(".message-body").textContent = frame.body;
    markEdited(item, frame.edited_at);
  }

  function onReactions(frame) {
    var item = elementForSeq(frame.seq);
    if (item) renderReactions(item, frame.reactions);
  }

  // A leader reads a message's earlier texts (the "edited" mark is their button).
  function showVersions(item) {
    send({ type: "edits", room: room, seq: parseInt(item.getAttribute("data-seq"), 10) });
  }

  function onVersions(frame) {
    var item = elementForSeq(frame.seq);
    if (!item) return;
    var old = item.querySelector(".versions");
    if (old) old.parentNode.removeChild(old);
    var box = document.createElement("div");
    box.className = "versions";
    var title = document.createElement("p");
    title.className = "meta";
    title.textContent = label("versions");
    box.appendChild(title);
    var entries = document.createElement("ol");
    frame.versions.forEach(function (version) {
      var entry = document.createElement("li");
      var time = document.createElement("time");
      time.setAttribute("datetime", version.written_at);
      time.textContent = formatTime(version.written_at);
      entry.appendChild(time);
      entry.appendChild(document.createTextNode(" " + version.body));
      entries.appendChild(entry);
    });
    if (!frame.versions.length) title.textContent = label("no-versions");
    else box.appendChild(entries);
    item.querySelector(".message-body").insertAdjacentElement("afterend", box);
  }

  // Flagging is a small page of its own (reason and note): a link per message others wrote.
  function addFlagLink(item, seq, authorId) {
    if (!canFlag || !flagBase || String(authorId) === me || item.querySelector(".flag-message")) return;
    var link = document.createElement("a");
    link.className = "flag-message small";
    link.href = flagBase + seq + "/flag";
    link.textContent = label("flag");
    item.appendChild(link);
  }

  function clearState(item, className) {
    item.classList.remove(className);
    var notes = item.querySelectorAll(".state");
    for (var i = 0; i < notes.length; i++) notes[i].parentNode.removeChild(notes[i]);
  }

  function insertInOrder(item, seq) {
    var items = list.querySelectorAll("li[data-seq]");
    for (var i = items.length - 1; i >= 0; i--) {
      if (parseInt(items[i].getAttribute("data-seq"), 10) < seq) {
        items[i].insertAdjacentElement("afterend", item);
        return;
      }
    }
    list.insertBefore(item, list.firstChild);
  }

  function markPending(item, failed) {
    item.classList.add("pending");
    var mark = item.querySelector(".pending-mark");
    if (!mark) {
      mark = document.createElement("span");
      mark.className = "pending-mark";
      item.querySelector(".message-meta").appendChild(mark);
    }
    mark.textContent = failed ? label("failed") : label("pending");
  }

  function clearPending(item) {
    item.classList.remove("pending");
    var mark = item.querySelector(".pending-mark");
    if (mark) mark.parentNode.removeChild(mark);
  }

  function showPendingFromOutbox() {
    Object.keys(outbox).forEach(function (id) {
      if (elementForClientId(id)) return;
      var item = buildMessage(myName(), null, outbox[id].createdAt, outbox[id].body);
      item.setAttribute("data-client-id", id);
      item.setAttribute("data-author", me);
      renderQuote(item, outbox[id].replyTo);
      markPending(item, false);
      list.appendChild(item);
    });
  }

  // The page's own history: its times become the reader's clock time (the day is in the separators).
  function localizeHistory() {
    var times = list.querySelectorAll("li.message time");
    for (var i = 0; i < times.length; i++) {
      var text = formatTime(times[i].getAttribute("datetime"));
      if (text) times[i].textContent = text;
    }
  }

  // --- how the list reads: days, groups, avatars, the "new messages" line, staying at the newest ---

  function initials(name) {
    // The first letter (or digit) of the first two words that have one: "Amara Okafor" is "AO".
    var words = String(name || "").split(/\s+/).map(function (word) {
      var found = word.match(/[\p{L}\p{N}]/u);
      return found ? found[0] : "";
    }).filter(Boolean);
    var letters = words.slice(0, 2).join("");
    return letters.toUpperCase() || "?";
  }

  function ensureAvatar(item) {
    if (item.querySelector(".avatar")) return;
    var name = item.querySelector(".author");
    var avatar = document.createElement("span");
    avatar.className = "avatar avatar-" + ((parseInt(item.getAttribute("data-author"), 10) || 0) % 6);
    avatar.setAttribute("aria-hidden", "true"); // the name is written next to it
    avatar.textContent = initials(name ? name.textContent : "");
    item.insertBefore(avatar, item.firstChild);
  }

  function dayLabel(date) {
    var today = new Date();
    var yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    if (date.toDateString() === today.toDateString()) return label("today");
    if (date.toDateString() === yesterday.toDateString()) return label("yesterday");
    return date.toLocaleDateString(document.documentElement.lang || undefined,
      { weekday: "long", day: "numeric", month: "long", year: "numeric" });
  }

  function marker(className, key, text) {
    var item = document.createElement("li");
    item.className = className;
    item.setAttribute("data-key", key);
    var span = document.createElement("span");
    span.textContent = text;
    item.appendChild(span);
    return item;
  }

  // Day separators (in the reader's own time zone), the "new messages" line, and groups of one
  // author's messages within a minute. Markers already in place are left alone, so the polite live
  // region announces a day or the line once, not again with every message.
  function relayout() {
    var used = [];
    var previous = null;
    var dividerDone = readAtOpen === null;
    var items = list.querySelectorAll("li.message");
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      ensureAvatar(item);
      var created = new Date(item.getAttribute("data-created") || "");
      var valid = !isNaN(created.getTime());
      var day = valid ? created.toDateString() : "";
      var minute = valid ? day + " " + created.getHours() + ":" + created.getMinutes() : "";
      var author = item.getAttribute("data-author") || "";
      var seq = parseInt(item.getAttribute("data-seq") || "", 10);
      // The order is: day separator, then the "new messages" line, then the message.
      var before = item.previousElementSibling;
      if (before && before.classList.contains("unread-divider")) before = before.previousElementSibling;
      if (valid && (!previous || previous.day !== day)) {
        if (!(before && before.classList.contains("day-separator") && before.getAttribute("data-key") === day)) {
          before = marker("day-separator", day, dayLabel(created));
          list.insertBefore(before, item);
        }
        used.push(before);
        previous = null;
      }
      if (!dividerDone && seq > readAtOpen && author !== me) {
        dividerDone = true;
        var divider = list.querySelector("li.unread-divider") || marker("unread-divider", "unread", label("new-messages"));
        if (item.previousElementSibling !== divider) list.insertBefore(divider, item);
        used.push(divider);
        previous = null;
      }
      item.classList.toggle("continued", !!(previous && author && previous.author === author && previous.minute === minute));
      previous = { day: day, minute: minute, author: author };
    }
    var markers = list.querySelectorAll("li.day-separator, li.unread-divider");
    for (var j = 0; j < markers.length; j++) {
      if (used.indexOf(markers[j]) < 0) markers[j].parentNode.removeChild(markers[j]);
    }
  }

  function scrollToLatest() {
    scroller.scrollTop = scroller.scrollHeight;
    atBottom = true;
    if (jumpButton) jumpButton.hidden = true;
  }

  // After the list changed: keep following the newest message if the reader was there (or just
  // sent one); otherwise leave the reading place alone and offer the way back down.
  function listChanged(mine) {
    relayout();
    if (atBottom || mine) scrollToLatest();
    else if (jumpButton) jumpButton.hidden = false;
  }

  // The conversation's box is sized in the stylesheet to leave the composer on screen under it; when
  // something above pushes it down (the cookie notice, a long room name), the page scrolls just
  // enough that the composer's bottom is at the screen's bottom.
  function revealComposer() {
    var end = document.getElementById("live-end");
    if (end && end.getBoundingClientRect().bottom > window.innerHeight) end.scrollIntoView({ block: "end" });
  }

  scroller.addEventListener("scroll", function () {
    atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 24;
    if (jumpButton) jumpButton.hidden = atBottom;
  });
  if (jumpButton) jumpButton.addEventListener("click", scrollToLatest);

  function accountFor(seq) {
    if (seq <= lastSeq) return;
    seen[seq] = true;
    while (seen[lastSeq + 1]) {
      delete seen[lastSeq + 1];
      lastSeq += 1;
    }
    var waiting = Object.keys(seen).length > 0;
    if (waiting && !gapTimer) {
      // Frames from different processes can pass each other; give the missing ones 3 s.
      gapTimer = setTimeout(function () {
        gapTimer = null;
        if (Object.keys(seen).length > 0) join();
      }, 3000);
    }
    scheduleRead();
  }

  // --- a quote's message, older than the page ------------------------------------------------

  // The most a join with since replays: the server's own figure (server/actions/chat.py), carried by the page.
  var REPLAY_LIMIT = parseInt(root.getAttribute("data-replay-limit") || "0", 10) || 0;
  var jumpingTo = null; // the seq of a quoted message being brought back from the room's history

  function showJumpTarget(target) {
    atBottom = false;
    target.scrollIntoView({ block: "center" });
    target.focus();
  }

  // Scroll to the message at seq; one older than the page's first is brought back first by a join with
  // since just before it (docs/protocol.md, Resuming), which fills the list from there to the head.
  function jumpTo(seq) {
    var target = elementForSeq(seq);
    if (target) { showJumpTarget(target); return true; }
    var first = list.querySelector("li[data-seq]");
    var oldest = first ? parseInt(first.getAttribute("data-seq"), 10) : lastSeq + 1;
    if (!(seq >= 1 && seq < oldest) || !epoch || lastSeq - (seq - 1) > REPLAY_LIMIT) return false;
    if (!send({ type: "join", room: room, since: seq - 1, epoch: epoch })) return false;
    jumpingTo = seq;
    jumpPast = false;
    atBottom = false; // the history coming in must not pull the page down to the newest message
    return true;
  }

  var jumpPast = false; // the message being brought back was gone: land on the first one after it

  function arrived(seq) {
    if (jumpingTo === null || (seq !== jumpingTo && !(jumpPast && seq > jumpingTo))) return;
    jumpingTo = null;
    jumpPast = false;
    var target = elementForSeq(seq);
    if (target) showJumpTarget(target);
  }

  // A link or quote led to a message this page cannot show: say so (role=status) rather than nothing.
  var jumpNote = document.getElementById("jump-note");
  var jumpNoteTimer = null;
  function tellJump(key) {
    if (!jumpNote) return;
    jumpNote.textContent = label(key);
    jumpNote.hidden = false;
    clearTimeout(jumpNoteTimer);
    jumpNoteTimer = setTimeout(function () { jumpNote.hidden = true; jumpNote.textContent = ""; }, 10000);
  }

  // The message being brought back is gone (removed, or deleted by its author): the first one after it that
  // the history brings (it replays every seq from there, in order) is shown instead.
  function jumpEnded(seq) {
    if (jumpingTo !== seq || jumpPast) return;
    tellJump("jump-removed");
    jumpPast = true;
  }

  function onMessage(frame) {
    if (emptyNote) { emptyNote.parentNode.removeChild(emptyNote); emptyNote = null; }
    var existing = elementForSeq(frame.seq);
    var mine = frame.client_id ? elementForClientId(frame.client_id) : null;
    if (existing) {
      // A message already shown, sent again with its current state (a resume after it changed).
      var shownBody = existing.querySelector(".message-body");
      if (shownBody && shownBody.textContent !== frame.body) shownBody.textContent = frame.body;
      markEdited(existing, frame.edited_at);
      if (frame.reply_to) renderQuote(existing, frame.reply_to);
      renderReactions(existing, frame.reactions || []);
      if (frame.held && !existing.classList.contains("held")) addState(existing, reviewLabel(frame), "held");
      // Approved by a leader (or shown again after flags were dismissed): it is an ordinary message now.
      if (!frame.held && !frame.removed) {
        if (existing.classList.contains("held")) clearState(existing, "held");
        if (existing.classList.contains("removed")) clearState(existing, "removed");
        addFlagLink(existing, frame.seq, frame.author ? frame.author.id : "");
        markRemovable(existing, frame.author);
      }
      accountFor(frame.seq);
      return;
    }
    var author = frame.author ? frame.author.display_name : "";
    var item = buildMessage(author, frame.author && frame.author.badge, frame.created_at, frame.body);
    setSeq(item, frame.seq);
    item.setAttribute("data-client-id", frame.client_id || "");
    item.setAttribute("data-author", frame.author ? String(frame.author.id) : "");
    item.setAttribute("data-author-username", frame.author ? frame.author.username : "");
    renderQuote(item, frame.reply_to);
    markEdited(item, frame.edited_at);
    if (mine && frame.author && String(frame.author.id) === me) {
      mine.parentNode.removeChild(mine);
      delete outbox[frame.client_id];
      saveOutbox();
    }
    if (frame.held) addState(item, reviewLabel(frame), "held");
    if (frame.removed) addState(item, label("removed"), "removed");
    if (!frame.held && !frame.removed) addFlagLink(item, frame.seq, frame.author ? frame.author.id : "");
    markRemovable(item, frame.author);
    renderReactions(item, frame.reactions || []);
    ensureMenuButton(item);
    insertInOrder(item, frame.seq);
    listChanged(false);
    accountFor(frame.seq);
    arrived(frame.seq);
  }

  // One's own held message also says roughly how long the leaders usually take.
  function reviewLabel(frame) {
    var mine = frame.author && String(frame.author.id) === me;
    return mine && label("review-time") ? label("review") + " · " + label("review-time") : label("review");
  }

  function addState(item, text, className) {
    item.classList.add(className);
    var note = document.createElement("span");
    note.className = "state";
    note.textContent = text;
    item.querySelector(".message-meta").appendChild(note);
    var button = item.querySelector(".remove-message");
    if (button && className === "removed") button.parentNode.removeChild(button);
  }

  function onRemove(frame) {
    var item = elementForSeq(frame.seq);
    if (item || frame.deleted) quotesGone(frame.seq);
    if (item && frame.deleted) {
      item.parentNode.removeChild(item); // its author deleted it: gone for leaders too
      relayout();
    } else if (item) {
      if (item.classList.contains("held") && String(item.getAttribute("data-author")) === me) {
        // Our own message waiting for review: a plain remove is meant for everyone else; a
        // rejected one is the leaders' answer (the reason comes as a notification).
        if (frame.rejected) {
          clearState(item, "held");
          addState(item, label("rejected"), "removed");
        }
      } else if (moderator) {
        if (!item.classList.contains("removed")) addState(item, label("removed"), "removed");
      } else {
        item.parentNode.removeChild(item);
        relayout();
      }
    }
    removeArrived(frame.seq);
    accountFor(frame.seq);
    if (!elementForSeq(frame.seq)) jumpEnded(frame.seq);
  }

  function slowLeft() {
    return slowSeconds > 0 ? Math.max(0, Math.ceil((slowUntil - Date.now()) / 1000)) : 0;
  }

  function showSlowMode() {
    var note = document.getElementById("slow-mode-note");
    if (!note) return;
    var left = slowLeft();
    note.textContent = left > 0
      ? label("slow-wait").replace("%(seconds)s", String(left))
      : label("slow-mode").replace("%(seconds)s", String(slowSeconds));
    note.classList.toggle("waiting", left > 0);
    clearTimeout(slowTimer);
    if (left > 0) slowTimer = setTimeout(showSlowMode, 1000);
    else if (composerError && composerError.getAttribute("data-slow") === "1") {
      composerError.textContent = "";
      composerError.removeAttribute("data-slow");
    }
  }

  // --- mutes: the server refuses a muted member's sends; the page says why and until when ------------
  // A leader's mute or unmute reaches this member's pages live (docs/protocol.md, muted / unmuted). A mute
  // holds in one room or the whole community, and each replaces the earlier one of its scope; the one that
  // ends last is shown, and the composer comes back when every mute here has ended or was lifted.

  var communitySlug = root.getAttribute("data-community") || room.split("/")[0];
  var mutedBanner = document.getElementById("composer-muted");
  var composerSend = document.getElementById("composer-send");
  var mutes = { room: null, community: null }; // scope -> {reason, until (ms, or null: until lifted)}
  var refusedAsMuted = ""; // the server refused a send as muted though no mute is known here: its words
  var mutedNow = false;
  var muteTimer = null;

  function composing() { return !!composer && !mutedNow; }

  function muteFrom(reason, until) {
    var end = until ? new Date(until).getTime() : null;
    return { reason: reason || "", until: end !== null && !isNaN(end) ? end : null };
  }

  function formatEnd(ms) { return window.kindredFormatMoment(ms, root.getAttribute("data-time-zone")); }

  function muteText(scope, mute) {
    var text = mute.until === null ? label("muted-" + scope + "-lifted")
      : label("muted-" + scope).replace("%(time)s", formatEnd(mute.until));
    // A function, so that "$&" or "$$" in the leader's words stay as written.
    if (mute.reason) text += " " + label("mute-reason").replace("%(reason)s", function () { return mute.reason; });
    return text;
  }

  function showMute(starting) {
    if (!composer) return;
    var now = Date.now();
    var shown = null, scope = null, next = null;
    ["room", "community"].forEach(function (name) {
      var mute = mutes[name];
      if (mute && mute.until !== null && mute.until <= now) mutes[name] = mute = null; // it has ended
      if (!mute) return;
      if (mute.until !== null && (next === null || mute.until < next)) next = mute.until;
      if (!shown || (shown.until !== null && (mute.until === null || mute.until > shown.until))) { shown = mute; scope = name; }
    });
    var text = shown ? muteText(scope, shown) : refusedAsMuted;
    mutedNow = !!text;
    if (mutedBanner && !starting) { // as the page opens, the server's words stay
      if (mutedBanner.textContent !== text) mutedBanner.textContent = text;
      mutedBanner.hidden = !text;
    }
    composerBody.disabled = mutedNow;
    if (composerSend) composerSend.disabled = mutedNow;
    if (mutedNow && !starting) { cancelReply(); closeMentions(); closeMenus(null); }
    clearTimeout(muteTimer);
    // The page's clock says when the mute ends; the server still decides (a send too early is refused).
    if (next !== null) muteTimer = setTimeout(function () { showMute(false); }, Math.min(next - now + 500, 2147483000));
  }

  // As the page was rendered: the mute in force then, if any (the server wrote its banner).
  if (composer && composer.getAttribute("data-muted") === "1") {
    var scopeAtOpen = root.getAttribute("data-muted-scope") === "room" ? "room" : "community";
    mutes[scopeAtOpen] = muteFrom(root.getAttribute("data-muted-reason"), root.getAttribute("data-muted-until") || null);
    showMute(true);
  }

  function onMuted(frame) {
    if (frame.community !== communitySlug || (frame.room && frame.room !== room)) return;
    mutes[frame.room ? "room" : "community"] = muteFrom(frame.reason, frame.until);
    refusedAsMuted = "";
    showMute();
  }

  function onUnmuted(frame) {
    if (frame.community !== communitySlug) return;
    mutes = { room: null, community: null };
    refusedAsMuted = "";
    showMute();
  }

  function sameMute(mute) {
    var scope = mute.room ? "room" : "community", other = mute.room ? "community" : "room";
    var known = mutes[scope], told = muteFrom(mute.reason, mute.until || null);
    return !!known && !mutes[other] && !refusedAsMuted && known.reason === told.reason && known.until === told.until;
  }

  // The answer to a join says the mute in force now (or none): the word of a page whose socket was down
  // when a leader muted or unmuted this member.
  function muteFromJoin(mute) {
    if (mute ? sameMute(mute) : !mutedNow) return; // as the page says already (perhaps in the server's words)
    mutes = { room: null, community: null };
    if (mute) mutes[mute.room ? "room" : "community"] = muteFrom(mute.reason, mute.until || null);
    refusedAsMuted = "";
    showMute();
  }

  function onAck(frame) {
    var item = elementForClientId(frame.client_id);
    if (item && slowSeconds > 0) {
      slowUntil = Date.now() + slowSeconds * 1000; // the server's window opened with this message
      showSlowMode();
    }
    delete outbox[frame.client_id];
    saveOutbox();
    if (!item) return;
    if (elementForSeq(frame.seq) && elementForSeq(frame.seq) !== item) {
      item.parentNode.removeChild(item); // its message frame arrived first
      return;
    }
    clearPending(item);
    setSeq(item, frame.seq);
    ensureMenuButton(item);
    item.parentNode.removeChild(item);
    insertInOrder(item, frame.seq);
    relayout();
    accountFor(frame.seq);
  }

  var RETRYABLE = { unavailable: true, rate_limited: true, slow_mode: true };

  function onError(frame) {
    if (!errorIsOurs(frame) || removeRefused(frame)) return;
    if (frame.ref && outbox[frame.ref]) {
      var item = elementForClientId(frame.ref);
      if (RETRYABLE[frame.code]) {
        if (item) markPending(item, true);
        setTimeout(flushOutbox, frame.code === "unavailable" ? 3000 : 10000);
      } else {
        // Refused for good (muted, banned, too long...): keep the text in the box so nothing is lost.
        delete outbox[frame.ref];
        saveOutbox();
        if (item) {
          if (composerBody && !composerBody.value) composerBody.value = item.querySelector(".message-body").textContent;
          item.parentNode.removeChild(item);
          relayout();
        }
      }
    }
    if (frame.code === "muted" && !mutedNow) {
      // Muted while this page was away (the socket was down when the leader did it): the server's words.
      refusedAsMuted = frame.message;
      showMute();
    }
    if (composerError) composerError.textContent = frame.message;
    // A join refused for reading too much: try again once the window has had time to pass.
    if (frame.code === "rate_limited" && frame.ref === room && !joinedOnThisSocket) {
      clearTimeout(rejoinTimer);
      rejoinTimer = setTimeout(join, 60000);
    }
  }

  function renderPresence() {
    var members = Object.keys(presenceMembers).map(function (id) { return presenceMembers[id]; });
    // The server's order (name, then id), kept when changes add members one by one.
    members.sort(function (a, b) {
      var x = a.display_name.toLowerCase(), y = b.display_name.toLowerCase();
      return x < y ? -1 : x > y ? 1 : a.id - b.id;
    });
    presenceList.textContent = "";
    members.forEach(function (member) {
      var item = document.createElement("li");
      item.textContent = member.display_name;
      if (BADGES[member.badge]) {
        var mark = document.createElement("span");
        mark.className = BADGES[member.badge][1];
        mark.textContent = label(BADGES[member.badge][0]);
        item.appendChild(document.createTextNode(" "));
        item.appendChild(mark);
      }
      presenceList.appendChild(item);
    });
  }

  function applyPresence(change) {
    if (change.here) presenceMembers[change.member.id] = change.member;
    else delete presenceMembers[change.member.id];
  }

  // The snapshot replaces the list; changes that arrived before it but happened after it
  // (published by another process, so overtaken) are applied again on top.
  function onPresence(frame) {
    if (frame.version < presenceVersion) return;
    presenceVersion = frame.version;
    presenceMembers = {};
    frame.members.forEach(function (member) { presenceMembers[member.id] = member; });
    Object.keys(presenceChanges).forEach(function (id) {
      if (presenceChanges[id].version <= presenceVersion) delete presenceChanges[id]; // in the snapshot already
      else applyPresence(presenceChanges[id]);
    });
    renderPresence();
  }

  // Changes can arrive in any order: per member, the one with the highest version wins.
  function onPresenceChange(frame) {
    if (frame.version <= presenceVersion) return; // the snapshot includes it
    var record = function (member, here) {
      var last = presenceChanges[member.id];
      if (last && last.version >= frame.version) return;
      presenceChanges[member.id] = { version: frame.version, member: member, here: here };
      applyPresence(presenceChanges[member.id]);
    };
    (frame.joined || []).forEach(function (member) { record(member, true); });
    (frame.left || []).forEach(function (member) { record(member, false); });
    renderPresence();
  }

  function onTyping(frame) {
    if (String(frame.user.id) === me) return;
    typingLine.textContent = label("typing").replace("%(name)s", frame.user.display_name);
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typingLine.textContent = ""; }, 5000);
  }

  function resync() {
    setStatus(label("reload"), false);
    list.textContent = "";
    atBottom = true;
    seen = {};
    lastSeq = 0;
    epoch = null;
    send({ type: "join", room: room });
  }

  // The socket signed in as someone else (another tab logged out and in): this page's unsent
  // messages are the previous member's, so they are dropped, never sent under the new name.
  function signedInElsewhere() {
    stopped = true;
    outbox = {};
    try { window.localStorage.removeItem(outboxKey); } catch (e) { /* private mode */ }
    var pending = list.querySelectorAll("li.pending");
    for (var i = 0; i < pending.length; i++) pending[i].parentNode.removeChild(pending[i]);
    relayout();
    if (composer) composer.hidden = true;
    setStatus(label("other-account"), true);
    live.stop(); // stopped first, so its close does not say "offline" over the explanation
  }

  function onJoined(frame) {
    if ("user_id" in frame && String(frame.user_id || "") !== me) { signedInElsewhere(); return; }
    if (epoch && frame.epoch !== epoch) { resync(); return; }
    var again = joinedOnThisSocket;
    epoch = frame.epoch;
    joinedOnThisSocket = true;
    if ("user_id" in frame && composer) muteFromJoin(frame.muted || null);
    if (!again) {
      setStatus(label("online"), false);
      flushOutbox();
      hashAfterJoin();
      // Opening the room reads it: the member's room lists (static/js/rooms.js) lower its count.
      if (readAtOpen !== null && lastSeq > readAtOpen) scheduleRead();
    } else if (frame.head_seq > lastSeq) {
      join(); // the server's live feed was interrupted: fill the gap from the database
    }
  }

  // --- the connection -----------------------------------------------------------------------

  function join() {
    send({ type: "join", room: room, since: lastSeq, epoch: epoch });
  }

  function flushOutbox() {
    Object.keys(outbox).forEach(function (id) {
      var frame = { type: "send", room: room, client_id: id, body: outbox[id].body };
      if (outbox[id].replyTo) frame.reply_to = outbox[id].replyTo.seq;
      send(frame);
    });
  }

  function onFrame(frame) {
    if (frame.room && frame.room !== room && frame.type !== "error") return;
    switch (frame.type) {
      case "joined": onJoined(frame); break;
      case "message": onMessage(frame); break;
      case "remove": onRemove(frame); break;
      case "edit": onEdit(frame); break;
      case "reactions": onReactions(frame); break;
      case "edits": onVersions(frame); break;
      case "members": if (composerBody) onMembers(frame); break;
      case "ack": onAck(frame); break;
      case "error": onError(frame); break;
      case "presence": onPresence(frame); break;
      case "presence_change": onPresenceChange(frame); break;
      case "typing": onTyping(frame); break;
      case "resync": resync(); break;
      case "notify": if (window.kindredNotified) window.kindredNotified(frame.count, frame.review); break;
      case "muted": onMuted(frame); break;
      case "unmuted": onUnmuted(frame); break;
      default: break;
    }
  }

  function connect() {
    live.listen({
      connecting: function () {
        joinedOnThisSocket = false;
        if (!stopped) setStatus(label("connecting"), !navigator.onLine);
      },
      open: function () {
        if (stopped) return;
        join();
        if (me) live.watch("member:me");
      },
      frame: function (frame) { if (!stopped) onFrame(frame); },
      close: function () {
        joinedOnThisSocket = false;
        if (!stopped) setStatus(label("offline"), true);
      },
    });
  }

  window.addEventListener("offline", function () { setStatus(label("offline"), true); });

  function scheduleRead() {
    if (!me || document.hidden) return;
    clearTimeout(readTimer);
    readTimer = setTimeout(function () {
      if (lastSeq > lastReadSent && send({ type: "read", room: room, seq: lastSeq })) lastReadSent = lastSeq;
    }, 1000);
  }
  document.addEventListener("visibilitychange", scheduleRead);

  // --- composing ----------------------------------------------------------------------------

  if (composer) {
    composer.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = composerBody.value.trim();
      composerError.textContent = "";
      if (!body || mutedNow) return;
      if (slowLeft() > 0) {
        // It would be refused: say so now and keep the words in the box.
        composerError.textContent = label("slow-wait").replace("%(seconds)s", String(slowLeft()));
        composerError.setAttribute("data-slow", "1");
        return;
      }
      var id = newClientId();
      var createdAt = new Date().toISOString();
      outbox[id] = { body: body, createdAt: createdAt, replyTo: replyTo };
      saveOutbox();
      var item = buildMessage(myName(), null, createdAt, body);
      item.setAttribute("data-client-id", id);
      item.setAttribute("data-author", me);
      renderQuote(item, replyTo);
      markPending(item, false);
      list.appendChild(item);
      if (emptyNote) { emptyNote.parentNode.removeChild(emptyNote); emptyNote = null; }
      composerBody.value = "";
      closeMentions();
      listChanged(true);
      var frame = { type: "send", room: room, client_id: id, body: body };
      if (replyTo) frame.reply_to = replyTo.seq;
      cancelReply();
      send(frame);
    });
    // Enter sends and Shift+Enter starts a new line, unless the member prefers the button (kept in
    // this browser). Never while an input method is composing a word (Japanese, Chinese...).
    var ENTER_KEY = "kindred-enter-sends";
    if (enterSendsBox) {
      try { enterSendsBox.checked = window.localStorage.getItem(ENTER_KEY) !== "0"; } catch (e) { /* private mode */ }
      enterSendsBox.addEventListener("change", function () {
        try { window.localStorage.setItem(ENTER_KEY, enterSendsBox.checked ? "1" : "0"); } catch (e) { /* private mode */ }
      });
    }
    composerBody.addEventListener("keydown", function (event) {
      if (mentionKey(event)) return;
      if (event.key === "Escape" && replyTo) { cancelReply(); return; }
      if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
      if (enterSendsBox && !enterSendsBox.checked) return;
      event.preventDefault();
      if (typeof composer.requestSubmit === "function") composer.requestSubmit();
      else composer.dispatchEvent(new Event("submit", { cancelable: true }));
    });
    composerBody.addEventListener("input", function () {
      updateMentions();
      var now = Date.now();
      if (now - lastTypingSent > 3000 && composerBody.value) {
        lastTypingSent = now;
        send({ type: "typing", room: room });
      }
    });
  }

  if (replyBar) document.getElementById("reply-cancel").addEventListener("click", function () {
    cancelReply();
    composerBody.focus();
  });

  list.addEventListener("click", function (event) {
    if (!event.target.closest) return;
    var toggle = event.target.closest(".message-menu-toggle");
    if (toggle) {
      if (toggle.getAttribute("aria-expanded") === "true") closeMenus(null);
      else openMenu(toggle.closest("li.message"), toggle);
      return;
    }
    var chip = event.target.closest("button[data-react]");
    if (chip) { react(chip.closest("li.message"), chip.getAttribute("data-react")); return; }
    var edited = event.target.closest("button.edited-mark");
    if (edited) { showVersions(edited.closest("li.message")); return; }
    var quote = event.target.closest(".reply-quote a");
    if (quote) {
      if (jumpTo(parseInt(quote.closest(".reply-quote").getAttribute("data-seq"), 10))) event.preventDefault();
      return;
    }
  });

  list.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var menu = event.target.closest ? event.target.closest(".message-menu") : null;
    if (!menu) return;
    var toggle = menu.parentNode.querySelector(".message-menu-toggle");
    closeMenus(null);
    if (toggle) toggle.focus();
  });

  // --- errors: the shared socket also answers rooms.js, notify.js... ---------------------------------

  // An error is this room's when it names the room (a join, an edit, a remove...) or one of our sends
  // (its client_id); a watched topic's refusal is for the script that watched it.
  function errorIsOurs(frame) {
    if (!frame.ref) return false;
    return frame.ref === room || !!outbox[frame.ref] || !!elementForClientId(frame.ref);
  }

  // --- a leader's Remove: a dialog asks for the reason its author is told -----------------------------

  var removeDialog = moderator ? document.getElementById("remove-dialog") : null;
  var removeForm = document.getElementById("remove-form");
  var removeReason = document.getElementById("remove-reason");
  var removeError = document.getElementById("remove-error");
  var removingSeq = null; // the message the dialog is about, while it is open
  var removeDone = false; // its remove arrived: the focus goes to the message, not back to its menu

  addMenuItem({ name: "remove", label: "remove",
    shows: function (item) { return !!removeDialog && isOrdinary(item) && item.getAttribute("data-removable") === "1"; },
    run: function (item) { openRemove(item); } });

  // Offered only for an author this leader outranks (never their own words: they delete those), as the
  // server decides (access.can_moderate_author): a message sent with the page has the server's Remove link,
  // one arriving live is judged by its author's badge, from the badges the page was given.
  var removableBadges = removeDialog ? (root.getAttribute("data-removable-badges") || "").split(" ") : []; // "": none
  function markRemovable(item, author) {
    var outranked = removableBadges.indexOf(author ? author.badge || "" : "") >= 0;
    if (outranked && !(author && String(author.id) === me)) {
      item.setAttribute("data-removable", "1");
      item.setAttribute("data-moderatable", "1"); // moderate.js's "Moderate" (mute, send back to review) too
    } else {
      item.removeAttribute("data-removable");
      item.removeAttribute("data-moderatable");
    }
  }

  // The page's Remove links work without JavaScript (the moderation page); here the menu has Remove.
  function upgradeRemoveLink(item) {
    var link = item.querySelector("a.remove-message");
    if (link) item.setAttribute("data-removable", "1");
    if (link && removeDialog) link.parentNode.removeChild(link);
  }

  function removeAttr(name) { return removeDialog.getAttribute("data-label-" + name) || ""; }

  function showRemoveError(text) {
    removeError.textContent = text;
    if (text) removeReason.setAttribute("aria-invalid", "true");
    else removeReason.removeAttribute("aria-invalid");
  }

  function openRemove(item) {
    var seq = parseInt(item.getAttribute("data-seq"), 10);
    if (typeof removeDialog.showModal !== "function") {
      window.location.href = flagBase + seq + "/moderate#remove"; // no dialog here: the moderation page's form
      return;
    }
    removingSeq = seq;
    removeDone = false;
    removeReason.value = "";
    showRemoveError("");
    var body = item.querySelector(".message-body");
    document.getElementById("remove-dialog-excerpt").textContent = body ? Array.from(body.textContent).slice(0, 200).join("") : "";
    removeDialog.showModal();
    removeReason.focus();
  }

  // The remove frame for that message arrived (ours, or another leader's): done.
  function removeArrived(seq) {
    if (!removeDialog || !removeDialog.open || removingSeq !== seq) return;
    removeDone = true;
    removeDialog.close();
  }

  // The server refused our remove (docs/protocol.md, error: request and seq): said in the dialog, the reason kept.
  function removeRefused(frame) {
    if (!removeDialog || !removeDialog.open || frame.request !== "remove" || frame.seq !== removingSeq) return false;
    showRemoveError(frame.message);
    removeReason.focus();
    return true;
  }

  if (removeDialog) {
    removeForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var reason = removeReason.value.trim();
      if (!reason) {
        showRemoveError(removeAttr("reason-missing")); // the server refuses it too: its author is told why
        removeReason.focus();
        return;
      }
      if (!send({ type: "remove", room: room, seq: removingSeq, reason: reason })) {
        showRemoveError(removeAttr("offline"));
        return;
      }
      showRemoveError("");
    });
    document.getElementById("remove-cancel").addEventListener("click", function () { removeDialog.close(); });
    // Escape, Cancel or done: back to that message's menu button, or to the message once it is removed.
    removeDialog.addEventListener("close", function () {
      var item = removingSeq === null ? null : elementForSeq(removingSeq);
      removingSeq = null;
      if (!item) { scroller.focus(); return; }
      var toggle = item.querySelector(".message-menu-toggle");
      if (removeDone || !toggle) item.focus();
      else toggle.focus();
    });
  }

  // --- a link to one message (#message-<seq>: notifications, quotes in tips and threads) ---------------

  var hashWaiting = null; // a linked message older than the page: brought back once the room is joined

  function hashSeq() {
    var found = /^#message-(\d+)$/.exec(window.location.hash);
    return found ? parseInt(found[1], 10) : null;
  }

  // As a quote's link does (jumpTo): scroll to it and focus it, fetching it from the history if need be.
  function followHash() {
    var seq = hashSeq();
    hashWaiting = null;
    if (seq === null) return;
    var target = elementForSeq(seq);
    if (target) showJumpTarget(target);
    else if (joinedOnThisSocket) { if (!jumpTo(seq)) tellJump("jump-gone"); }
    else hashWaiting = seq;
  }

  function hashAfterJoin() {
    if (hashWaiting === null) return;
    var seq = hashWaiting;
    hashWaiting = null;
    var target = elementForSeq(seq);
    if (target) showJumpTarget(target);
    else if (!jumpTo(seq)) tellJump("jump-gone");
  }

  window.addEventListener("hashchange", followHash);

  // --- @mentions: a list of the room's members while a name is typed after "@" -------------------
  // The names offered: those this page knows at once (who is here, who wrote), then the room's
  // members the server finds for what is typed (the `members` frame). A member is mentioned by the
  // name this community shows: "@username", or their pseudonym, "@[Name with spaces]" when it has
  // spaces (docs/protocol.md, send).

  var mentionChoices = [];
  var mentionActive = -1;
  var mentionFound = {};   // user id -> person, from the server's answers
  var mentionAsked = null; // the last prefix asked for

  function mentionHandle(person) {
    if (person.username) return "@" + person.username;
    return /\s/.test(person.display_name) ? "@[" + person.display_name + "]" : "@" + person.display_name;
  }

  function knownPeople() {
    var people = {};
    Object.keys(presenceMembers).forEach(function (id) {
      var member = presenceMembers[id];
      people[id] = { id: String(id), username: member.username, display_name: member.display_name };
    });
    var items = list.querySelectorAll("li.message[data-author]");
    for (var i = 0; i < items.length; i++) {
      var id = items[i].getAttribute("data-author");
      var name = items[i].querySelector(".author");
      if (!id || people[id] || !name) continue;
      people[id] = { id: id, username: items[i].getAttribute("data-author-username") || "", display_name: name.textContent };
    }
    Object.keys(mentionFound).forEach(function (id) { if (!people[id]) people[id] = mentionFound[id]; });
    delete people[me];
    return Object.keys(people).map(function (id) { return people[id]; });
  }

  function mentionQuery() {
    var before = composerBody.value.slice(0, composerBody.selectionStart);
    var found = before.match(/(^|[\s(])@\[?([^\s@\[\]]{0,40})$/);
    return found ? { text: found[2], start: before.length - found[2].length - (found[0].indexOf("[") >= 0 ? 2 : 1) } : null;
  }

  function closeMentions() {
    if (!mentionList) return;
    mentionChoices = [];
    mentionActive = -1;
    mentionList.hidden = true;
    mentionList.textContent = "";
    composerBody.setAttribute("aria-expanded", "false");
    composerBody.removeAttribute("aria-activedescendant");
  }

  function showActiveMention() {
    var options = mentionList.querySelectorAll("li");
    for (var i = 0; i < options.length; i++) options[i].setAttribute("aria-selected", i === mentionActive ? "true" : "false");
    if (mentionActive >= 0) composerBody.setAttribute("aria-activedescendant", "mention-" + mentionActive);
    else composerBody.removeAttribute("aria-activedescendant");
  }

  function updateMentions() {
    if (!mentionList) return;
    var query = mentionQuery();
    if (!query) { closeMentions(); return; }
    var wanted = query.text.toLowerCase();
    var activeId = mentionActive >= 0 && mentionChoices[mentionActive] ? mentionChoices[mentionActive].id : null;
    if (wanted !== mentionAsked && send({ type: "members", room: room, prefix: wanted })) mentionAsked = wanted;
    mentionChoices = knownPeople().filter(function (person) {
      return person.display_name.toLowerCase().split(/\s+/).some(function (word) { return word.indexOf(wanted) === 0; }) ||
        person.display_name.toLowerCase().indexOf(wanted) === 0 || person.username.toLowerCase().indexOf(wanted) === 0;
    }).sort(function (a, b) { return a.display_name.localeCompare(b.display_name); }).slice(0, 8);
    if (!mentionChoices.length) { closeMentions(); return; }
    mentionList.textContent = "";
    mentionChoices.forEach(function (person, index) {
      var option = document.createElement("li");
      option.id = "mention-" + index;
      option.setAttribute("role", "option");
      option.textContent = person.display_name + (person.username ? " (@" + person.username + ")" : "");
      option.addEventListener("mousedown", function (event) { event.preventDefault(); chooseMention(index); });
      mentionList.appendChild(option);
    });
    mentionActive = 0;
    mentionChoices.forEach(function (person, index) { if (person.id === activeId) mentionActive = index; });
    mentionList.hidden = false;
    composerBody.setAttribute("aria-expanded", "true");
    showActiveMention();
  }

  function chooseMention(index) {
    var query = mentionQuery();
    var person = mentionChoices[index];
    if (!query || !person) { closeMentions(); return; }
    var value = composerBody.value;
    var caret = composerBody.selectionStart;
    var inserted = mentionHandle(person) + " ";
    composerBody.value = value.slice(0, query.start) + inserted + value.slice(caret);
    var at = query.start + inserted.length;
    composerBody.setSelectionRange(at, at);
    closeMentions();
    composerBody.focus();
  }

  // Arrows move in the list, Enter or Tab choose, Escape closes it; true when the key was the list's.
  function mentionKey(event) {
    if (!mentionList || mentionList.hidden || !mentionChoices.length) return false;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      var step = event.key === "ArrowDown" ? 1 : -1;
      mentionActive = (mentionActive + step + mentionChoices.length) % mentionChoices.length;
      showActiveMention();
      return true;
    }
    if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      chooseMention(mentionActive < 0 ? 0 : mentionActive);
      return true;
    }
    if (event.key === "Escape") {
      event.preventDefault();
      closeMentions();
      return true;
    }
    return false;
  }

  function onMembers(frame) {
    frame.members.forEach(function (member) {
      mentionFound[member.id] = { id: String(member.id), username: member.username, display_name: member.display_name };
    });
    var query = mentionQuery();
    if (query && query.text.toLowerCase() === frame.prefix && document.activeElement === composerBody) updateMentions();
  }

  if (composerBody) composerBody.addEventListener("blur", function () { setTimeout(closeMentions, 150); });

  showSlowMode();
  localizeHistory();
  showPendingFromOutbox();
  var pageItems = list.querySelectorAll("li.message[data-seq]");
  for (var p = 0; p < pageItems.length; p++) decorate(pageItems[p]);
  relayout();
  scrollToLatest();
  followHash();
  revealComposer();
  // Again once site.js has shown the cookie notice (its listener was added first, so it runs first).
  document.addEventListener("DOMContentLoaded", revealComposer);
  connect();
})();
