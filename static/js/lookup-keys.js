// "/" puts the cursor in the header's search box (WCAG 2.1.4: only when focus is not in a field), on any keyboard
// layout (the physical key, as on a queue page, where "/" goes to the queue's own search box instead).
(function () {
  "use strict";
  if (window.diwanLookupKeys) return;
  window.diwanLookupKeys = true;
  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key !== "/" && !(event.code === "Slash" && !event.shiftKey)) return;
    if (document.getElementById("queue-search")) return;  // the queue page's own search (queue-keys.js)
    const box = document.getElementById("header-search");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });
})();
