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
//   <div data-combobox>                    a searchable picker (templates/_combobox.html)
//   <button data-disclosure aria-controls="main-menu" aria-expanded="false">
//                                          opens and closes the element it controls (the
//                                          Menu of narrow screens): class "open" on it
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
  // Disclosures: the button says whether the element it controls is open (aria-expanded);
  // CSS shows it by its class. Escape closes an open one and gives the button the focus.
  function disclose(button, open) {
    var target = document.getElementById(button.getAttribute("aria-controls"));
    if (!target) return;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    target.classList.toggle("open", open);
  }
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-disclosure]");
    if (button) disclose(button, button.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    document.querySelectorAll("[data-disclosure][aria-expanded=true]").forEach(function (button) {
      var target = document.getElementById(button.getAttribute("aria-controls"));
      if (!target || (!target.contains(document.activeElement) && document.activeElement !== button)) return;
      disclose(button, false);
      button.focus();
    });
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
  // Comboboxes (templates/_combobox.html): the server sends the options; choosing one puts
  // its id in the hidden input and fires "change" there (a line editor row posts on it).
  function comboParts(el) {
    var box = el && el.closest && el.closest("[data-combobox]");
    if (!box) return null;
    return {box: box, value: box.querySelector("input[type=hidden]"), text: box.querySelector("[role=combobox]"),
            list: box.querySelector("[role=listbox]")};
  }
  function options(c) { return Array.prototype.slice.call(c.list.querySelectorAll("[role=option]")); }
  function openList(c, open) {
    c.list.hidden = !open;
    c.text.setAttribute("aria-expanded", open ? "true" : "false");
    if (!open) c.text.removeAttribute("aria-activedescendant");
  }
  function activate(c, option) {
    options(c).forEach(function (o) { o.setAttribute("aria-selected", o === option ? "true" : "false"); });
    if (option) {
      c.text.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({block: "nearest"});
    }
  }
  function choose(c, option) {
    c.value.value = option ? option.getAttribute("data-value") : "";
    c.text.value = option ? option.getAttribute("data-label") : "";
    c.box.setAttribute("data-chosen", c.text.value);
    openList(c, false);
    c.value.dispatchEvent(new Event("change", {bubbles: true}));
  }
  document.addEventListener("htmx:afterSwap", function (evt) {
    var c = comboParts(evt.detail.target);
    if (c && evt.detail.target === c.list) {
      openList(c, document.activeElement === c.text);
      activate(c, null);
    }
  });
  document.addEventListener("keydown", function (evt) {
    if (!evt.target.matches || !evt.target.matches("[role=combobox]")) return;
    var c = comboParts(evt.target), all = options(c);
    var current = all.indexOf(c.list.querySelector("[aria-selected=true]"));
    if (evt.key === "ArrowDown" || evt.key === "ArrowUp") {
      evt.preventDefault();
      if (c.list.hidden) { openList(c, true); }
      var next = evt.key === "ArrowDown" ? Math.min(current + 1, all.length - 1) : Math.max(current - 1, 0);
      activate(c, all[next] || null);
    } else if (evt.key === "Enter" && !c.list.hidden) {
      evt.preventDefault();  // never submits the form: it chooses
      if (current >= 0) choose(c, all[current]);
    } else if (evt.key === "Escape" && !c.list.hidden) {
      evt.preventDefault();
      openList(c, false);
      c.text.value = c.box.getAttribute("data-chosen") || c.text.value;
    }
  });
  document.addEventListener("mousedown", function (evt) {
    var option = evt.target.closest && evt.target.closest("[data-combobox] [role=option]");
    if (!option) return;
    evt.preventDefault();  // the text field keeps the focus
    choose(comboParts(option), option);
  });
  document.addEventListener("focusout", function (evt) {
    if (!evt.target.matches || !evt.target.matches("[role=combobox]")) return;
    var c = comboParts(evt.target);
    openList(c, false);
    if (c.text.value.trim() === "" && c.value.value) {
      choose(c, null);  // emptied: nothing chosen
    } else if (c.box.hasAttribute("data-chosen")) {
      c.text.value = c.box.getAttribute("data-chosen");  // typed but not chosen: the choice stands
    }
  });
  document.addEventListener("focusin", function (evt) {
    if (!evt.target.matches || !evt.target.matches("[role=combobox]")) return;
    var c = comboParts(evt.target);
    if (!c.box.hasAttribute("data-chosen")) c.box.setAttribute("data-chosen", c.text.value);
  });
  // the search field's own "change" is not a change of the form's value
  document.addEventListener("change", function (evt) {
    if (evt.target.matches && evt.target.matches("[role=combobox]")) evt.stopPropagation();
  }, true);
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
