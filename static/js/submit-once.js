// A form with data-submit-once is sent once: a double tap on the kiosk gives one ticket, not two.
// (A page brought back from the browser's cache may be sent again.)
(function () {
  "use strict";
  if (window.diwanSubmitOnce) return;
  window.diwanSubmitOnce = true;

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-submit-once")) return;
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
  });

  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-submit-once]").forEach(function (form) { delete form.dataset.sent; });
  });
})();
