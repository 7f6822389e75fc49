// Kindred catalogue type-ahead: as a condition, gene, symptom or code is typed into an input with
// data-typeahead, the matching catalogue conditions replace the list its aria-controls names, as links.
// Without this script the same form is a plain search that the server answers with the same list.
(function () {
  "use strict";

  var DELAY_MS = 250;

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole;
    });
  }

  function item(condition, list) {
    var li = document.createElement("li");
    li.className = "catalogue-result";
    var name = document.createElement("span");
    name.className = "catalogue-name";
    name.textContent = condition.name;
    var meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = condition.code + (condition.genes.length
      ? " · " + format(list.dataset.genes, { genes: condition.genes.slice(0, 8).join(", ") }) : "");
    var link = document.createElement("a");
    if (condition.community) {
      link.href = condition.community.url;
      link.textContent = format(condition.community.status === "active" ? list.dataset.covered : list.dataset.proposed,
        { community: condition.community.name });
    } else {
      link.href = "/communities/new?code=" + encodeURIComponent(condition.code);
      link.textContent = format(list.dataset.choose, { name: condition.name });
    }
    li.appendChild(name);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(meta);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(link);
    return li;
  }

  function setUp(input) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var status = document.getElementById(input.getAttribute("aria-describedby"));
    if (!list || !status || !window.fetch) return;
    var timer = null;
    var latest = 0;

    function show(conditions) {
      while (list.firstChild) list.removeChild(list.firstChild);
      conditions.forEach(function (condition) { list.appendChild(item(condition, list)); });
      status.textContent = conditions.length === 1 ? list.dataset.foundOne
        : format(list.dataset.foundMany, { num: conditions.length });
    }

    function search() {
      var query = input.value.trim();
      var ticket = ++latest;
      if (query.length < 2) {
        while (list.firstChild) list.removeChild(list.firstChild);
        status.textContent = "";
        return;
      }
      fetch(input.dataset.typeahead + "?q=" + encodeURIComponent(query), {
        headers: { Accept: "application/json" },
        credentials: "same-origin"
      }).then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      }).then(function (body) {
        if (ticket === latest) show(body.conditions);  // an older answer arriving late is dropped
      }).catch(function () { /* the search button still works */ });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, DELAY_MS);
    });
    // Arrow keys move between the input and the result links; Escape goes back to the input.
    function links() { return Array.prototype.slice.call(list.querySelectorAll("a")); }
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" && links().length) {
        event.preventDefault();
        links()[0].focus();
      }
    });
    list.addEventListener("keydown", function (event) {
      var all = links();
      var index = all.indexOf(document.activeElement);
      if (index < 0) return;
      if (event.key === "ArrowDown" && index < all.length - 1) {
        event.preventDefault();
        all[index + 1].focus();
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        (index === 0 ? input : all[index - 1]).focus();
      } else if (event.key === "Escape") {
        input.focus();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var inputs = document.querySelectorAll("input[data-typeahead]");
    for (var i = 0; i < inputs.length; i++) setUp(inputs[i]);
  });
}());
