// Keyboard work on a queue page and on a request's own page (where take next leads): move through rows, open,
// take next, search and act without the mouse, on any keyboard layout.
// Single-letter keys act only when focus is not in a field (WCAG 2.1.4); every key has a visible button too.
(function () {
  "use strict";
  // htmx runs this script again when it restores the page from history (back button): listen only once
  if (window.diwanQueueKeys) return;
  window.diwanQueueKeys = true;
  const NEEDS_COMMENT = { r: "return", x: "reject", c: "comment" };
  const DIRECT = { a: "accept", s: "resubmit", t: "claim" };

  // Which shortcut a key press is. On a Latin layout the letter printed on the key (event.key) decides, so "a" is
  // where the person sees it; on any other layout (Arabic: the A key types "ش") the physical key (event.code)
  // stands for the letter it carries on a US keyboard, so the shortcuts work without switching layouts.
  const CODES = { Slash: "/", Period: ".", Comma: "," };
  function shortcut(event) {
    const key = event.key;
    if (key.length !== 1 || /^[\x21-\x7e]$/.test(key)) return key;  // named keys (ArrowDown, Enter) and ASCII
    const code = event.code || "";
    if (/^Key[A-Z]$/.test(code)) return event.shiftKey ? code.slice(3) : code.slice(3).toLowerCase();
    if (code === "Slash" && event.shiftKey) return "?";
    return CODES[code] || key;
  }
  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  function rowLinks() {
    return Array.from(document.querySelectorAll("#queue-table a.open-request"));
  }
  function move(step) {
    const links = rowLinks();
    if (!links.length) return;
    const at = links.indexOf(document.activeElement);
    const next = links[Math.min(links.length - 1, Math.max(0, at + step))] || links[0];
    next.focus();
    next.closest("tr").scrollIntoView({ block: "nearest" });
  }
  function actionButton(action) {
    return document.querySelector('#action-form button[name="action"][value="' + action + '"]');
  }
  function prepare(action) {
    const form = document.getElementById("action-form");
    const comment = document.getElementById("comment");
    if (!form || !actionButton(action)) return;
    form.dataset.pending = action;
    comment.focus();
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.id === "comment") {
      const form = document.getElementById("action-form");
      const button = form && form.dataset.pending && actionButton(form.dataset.pending);
      if (button) { event.preventDefault(); button.click(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const key = shortcut(event);
    if (key === "j" || key === "ArrowDown") { event.preventDefault(); move(1); }
    else if (key === "k" || key === "ArrowUp") { event.preventDefault(); move(-1); }
    else if (key === "/") { const s = document.getElementById("queue-search"); if (s) { event.preventDefault(); s.focus(); } }
    else if (key === "n") { const f = document.getElementById("take-next-form"); if (f) f.requestSubmit(); }
    else if (key === "?") { const d = document.getElementById("shortcuts"); if (d) d.showModal(); }
    else if (DIRECT[key]) { const b = actionButton(DIRECT[key]); if (b) b.click(); }
    else if (NEEDS_COMMENT[key]) { event.preventDefault(); prepare(NEEDS_COMMENT[key]); }
  });
  // an action swaps the request panel, and the field or button that had focus goes with it: rather than leave
  // focus on the page's body, put it on the new panel's heading (WCAG 2.4.3)
  document.addEventListener("htmx:afterSettle", function (event) {
    const lost = !document.activeElement || document.activeElement === document.body;
    const heading = document.getElementById("request-heading");
    if (event.target.id !== "request-panel" || !lost || !heading) return;
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-shortcuts-open]")) document.getElementById("shortcuts").showModal();
  });
})();
