// Factory's own script: toasts. Flash messages arrive as toasts on full pages (rendered
// into #toasts) and on htmx responses through the HX-Trigger header: {"toast": {"messages": [...]}}.
(function () {
  function dismissLater(el) {
    setTimeout(function () { el.classList.add("toast-out"); }, 4500);
    setTimeout(function () { el.remove(); }, 5000);
  }
  function show(level, text) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast toast-" + (level || "info");
    el.textContent = text;
    box.appendChild(el);
    dismissLater(el);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts .toast").forEach(dismissLater);
  });
  // The script is deferred, so <body> exists; HX-Trigger events bubble up to it.
  document.body.addEventListener("toast", function (evt) {
    (evt.detail.messages || []).forEach(function (m) { show(m.level, m.text); });
  });
  // Network failures and unexpected server errors get a toast too, never silence.
  document.addEventListener("htmx:sendError", function () {
    show("error", "Factory can't be reached. Check your connection and try again.");
  });
  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    if (xhr.getResponseHeader("HX-Trigger") || xhr.getResponseHeader("HX-Redirect")) return;
    show("error", xhr.status >= 500 ? "Something went wrong on our side. Nothing was saved." : (xhr.responseText || "That didn't work.").slice(0, 200));
  });
})();
