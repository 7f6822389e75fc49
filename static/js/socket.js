// Kindred: the page's one websocket to /ws (docs/protocol.md), shared by the scripts that need it (live.js,
// rooms.js, conversation.js, thread.js, notify.js). It connects when the first one listens, reconnects with
// jittered backoff and tells each listener what happens. No dependencies, no build step: base.html loads it
// before every other script.
(function () {
  "use strict";
  if (window.kindredSocket || !window.WebSocket) return;

  var listeners = []; // {connecting(), open(), frame(frame), close(event, final)}: each optional
  var socket = null; // the current connection, connecting or open
  var watching = {}; // topics watched on the current connection
  var attempt = 0;
  var connectedAt = 0;
  var reconnectTimer = null;
  var stopped = false;

  function each(name, a, b) {
    listeners.slice().forEach(function (listener) { if (listener[name]) listener[name](a, b); });
  }

  function isOpen() { return !!socket && socket.readyState === WebSocket.OPEN; }

  function send(frame) {
    if (!isOpen()) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  // Watch topic once per connection, however many scripts ask (member:me is wanted by several).
  function watch(topic) {
    if (watching[topic]) return true;
    if (!send({ type: "watch", topic: topic })) return false;
    watching[topic] = true;
    return true;
  }

  function connect() {
    if (stopped) return;
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    var ws = new WebSocket((window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host + "/ws");
    socket = ws;
    watching = {};
    each("connecting");
    ws.onopen = function () {
      if (socket !== ws) return;
      connectedAt = Date.now();
      each("open");
    };
    ws.onmessage = function (event) {
      if (socket !== ws) return;
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      each("frame", frame);
    };
    ws.onclose = function (event) {
      if (socket !== ws) return;
      socket = null;
      watching = {};
      // Refused (policy, signed out) or stopped by a script: no reconnecting.
      if (event.code === 1008 || event.code === 4001) stopped = true;
      each("close", event, stopped);
      scheduleReconnect(event.code === 1012 || event.code === 4008);
    };
  }

  function scheduleReconnect(soon) {
    if (stopped) return;
    if (connectedAt && Date.now() - connectedAt > 60000) attempt = 0;
    connectedAt = 0;
    var base = soon ? 250 : Math.min(30000, 500 * Math.pow(2, attempt));
    attempt += 1;
    var delay = base * (0.5 + Math.random()); // jitter: thousands of phones must not return at once
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(connect, delay);
  }

  // Listen to the page's socket, connecting it if it is not yet; a listener that comes once it is open
  // hears open() at once.
  function listen(listener) {
    listeners.push(listener);
    if (!socket && !reconnectTimer) connect();
    else if (isOpen() && listener.open) listener.open();
  }

  // For good (the page is no longer the signed-in member's, or its conversation ended).
  function stop() {
    stopped = true;
    clearTimeout(reconnectTimer);
    if (socket) socket.close();
  }

  window.addEventListener("online", function () {
    attempt = 0;
    if (!socket && listeners.length) connect();
  });
  window.addEventListener("offline", function () {
    if (socket) socket.close();
  });

  window.kindredSocket = { listen: listen, send: send, watch: watch, isOpen: isOpen, stop: stop };
})();
