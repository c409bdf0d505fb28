// The editor app's one script. Every page works without it; it adds what
// only a script can: a warning before unsaved changes are left behind,
// pickers that search as the editor types, times in the editor's own time
// zone, and word of changes made elsewhere while a page is open.
"use strict";

(function () {
  // Unsaved changes: a form marked data-guard warns before the page is
  // left with edits in it, unless it is being submitted.
  document.querySelectorAll("form[data-guard]").forEach(function (form) {
    var dirty = false;
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("change", function () { dirty = true; });
    form.addEventListener("submit", function () { dirty = false; });
    window.addEventListener("beforeunload", function (event) {
      if (dirty) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
  });

  // Pickers: suggestions from the server as the editor types.
  document.querySelectorAll("input[data-pick]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    if (!list) return;
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var typed = input.value.split(",").pop().trim();
      if (typed.length < 2) return;
      timer = setTimeout(function () {
        fetch("/admin/pick/" + input.dataset.pick + "?q=" + encodeURIComponent(typed), {
          credentials: "same-origin",
        })
          .then(function (response) { return response.ok ? response.json() : []; })
          .then(function (suggestions) {
            var before = input.value.lastIndexOf(",") >= 0
              ? input.value.slice(0, input.value.lastIndexOf(",") + 1) + " " : "";
            list.replaceChildren.apply(list, suggestions.map(function (suggestion) {
              var option = document.createElement("option");
              option.value = before + suggestion.slug;
              option.textContent = suggestion.label + (suggestion.status ? " · " + suggestion.status : "");
              return option;
            }));
          })
          .catch(function () {});
      }, 150);
    });
  });

  // Times: shown in the editor's time zone; schedules say which zone the
  // time picker means and send the offset along.
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "your time zone";
  document.querySelectorAll("time[datetime]").forEach(function (time) {
    // Date parses at most milliseconds; the server sends microseconds.
    var at = new Date(time.getAttribute("datetime").replace(/(\.\d{3})\d+/, "$1"));
    if (!isNaN(at)) {
      time.textContent = at.toLocaleString(undefined, {
        dateStyle: "medium", timeStyle: "short", timeZoneName: "short",
      });
    }
  });
  document.querySelectorAll("[data-zone]").forEach(function (label) {
    label.textContent = "(time zone: " + zone + ")";
  });
  document.querySelectorAll("input[data-offset]").forEach(function (offset) {
    var form = offset.form;
    form.addEventListener("submit", function () {
      var local = form.querySelector("input[type=datetime-local]");
      var at = local && local.value ? new Date(local.value) : new Date();
      offset.value = String(at.getTimezoneOffset());
    });
  });

  // Live: a page about one item hears of changes made to it elsewhere.
  var live = document.querySelector("[data-live]");
  if (live && window.EventSource) {
    var shown = Number(live.dataset.version);
    var source = new EventSource(live.dataset.live);
    source.addEventListener("change", function (event) {
      var change = JSON.parse(event.data);
      // The page's own version arriving is the page itself; a comment
      // leaves the version as it was and is news all the same.
      if (!change || (change.version === shown && change.action !== "comment")) return;
      live.className = "live";
      live.setAttribute("role", "status");
      live.replaceChildren();
      var text = document.createElement("span");
      text.id = "live-change";
      text.textContent = "Changed elsewhere just now (" + change.action +
        (change.version ? ", v" + change.version : "") + "). ";
      var reload = document.createElement("a");
      reload.href = window.location.pathname;
      reload.textContent = "Show the latest";
      live.append(text, reload);
    });
  }
})();
