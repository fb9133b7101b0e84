// Factory's own script: toasts, confirmations and dismiss buttons. Flash messages arrive
// as toasts on full pages (rendered into #toasts) and on htmx responses through the
// HX-Trigger header: {"toast": {"messages": [...]}}. Templates never put data inside
// JavaScript (the Content-Security-Policy allows no inline script): behaviour is asked
// for with data attributes, whose values the browser hands over as plain text.
//   <form data-confirm="Disconnect …?">  asks before the form is submitted
//   <button data-dismiss="form">          removes the closest <form> (a Cancel button)
//   <tr hx-post=… data-send-changed>       the request says which field changed (`changed`)
//   <button hx-get=… data-count-param="index" data-count-of="#people tr">
//                                          the request carries how many rows there are
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
  document.addEventListener("submit", function (evt) {
    var question = evt.target.getAttribute && evt.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      evt.preventDefault();
      evt.stopImmediatePropagation();
    }
  }, true);
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-dismiss]");
    if (!button) return;
    var target = button.closest(button.getAttribute("data-dismiss"));
    if (target) target.remove();
  });
  // Parameters htmx would otherwise take from a js: expression (which needs eval)
  document.addEventListener("htmx:configRequest", function (evt) {
    var elt = evt.detail.elt;
    if (!elt.hasAttribute) return;
    if (elt.hasAttribute("data-send-changed")) {
      var source = evt.detail.triggeringEvent && evt.detail.triggeringEvent.target;
      evt.detail.parameters["changed"] = (source && source.name) || "";
    }
    var counted = elt.getAttribute("data-count-param");
    if (counted) {
      evt.detail.parameters[counted] = String(document.querySelectorAll(elt.getAttribute("data-count-of")).length);
    }
  });
  // Network failures and unexpected server errors get a toast too, never silence.
  document.addEventListener("htmx:sendError", function () {
    show("error", "Factory can't be reached. Check your connection and try again.");
  });
  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    if (xhr.getResponseHeader("HX-Trigger") || xhr.getResponseHeader("HX-Redirect")) return;
    show("error", xhr.status >= 500 ? "Something went wrong on our side. Nothing was saved."
                                     : "That didn't work. Reload the page and try again.");
  });
})();
