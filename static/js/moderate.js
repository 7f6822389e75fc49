// Kindred: the moderator's items of a live message's menu (leaders and site admins only). No dependencies.
// Kept apart from live.js (the member's own items live there): each message of the room whose author this
// leader outranks (data-moderatable: the server's access.can_moderate_author on the page, live.js for one that
// arrives), as it is shown or arrives, gets a "Moderate" link to its moderation page (remove with a reason,
// send back to review, mute its author in this room or the whole community). The server checks every one.
(function () {
  "use strict";

  var section = document.getElementById("live-room");
  var list = document.getElementById("messages");
  if (!section || !list || section.getAttribute("data-moderator") !== "1") return;
  var base = section.getAttribute("data-flag-base") || "";
  var text = section.getAttribute("data-label-moderate") || "Moderate";

  function addMenu(item) {
    var seq = item.getAttribute("data-seq");
    var link = item.querySelector(".moderate-message");
    if (item.getAttribute("data-moderatable") !== "1") { if (link) link.parentNode.removeChild(link); return; }
    if (!seq || !/^\d+$/.test(seq) || link) return;
    link = document.createElement("a");
    link.className = "moderate-message small";
    link.href = base + seq + "/moderate";
    link.textContent = text;
    item.appendChild(link);
  }

  function addAll() {
    var items = list.querySelectorAll("li[data-seq]");
    for (var i = 0; i < items.length; i++) addMenu(items[i]);
  }

  // New messages, and a pending one once its seq is known (set on the ack).
  new MutationObserver(addAll).observe(list, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-seq", "data-moderatable"] });
  addAll();
})();
