// Printing, without inline script (the Content-Security-Policy runs only this site's files: security_headers.py):
// - a button with data-print prints the page (receipts, visitor tickets, printed documents);
// - an element with data-print-on-load prints the page once it has loaded (the kiosk's ticket: Chromium's
//   --kiosk-printing skips the dialog), and a link with data-follow-after="<ms>" is followed that long after,
//   so the kiosk waits for the next visitor;
// - a receipt on the 80 mm roll (html.layout-80mm) sizes its printed page to the receipt just before printing,
//   since a roll has no page height and the printer cuts where the page ends.
(function () {
  "use strict";
  if (window.diwanPrint) return; // a history restore may run the page's scripts again
  window.diwanPrint = true;

  document.addEventListener("click", function (event) {
    const button = event.target instanceof Element && event.target.closest("[data-print]");
    if (button) {
      event.preventDefault();
      window.print();
    }
  });

  window.addEventListener("load", function () {
    if (!document.querySelector("[data-print-on-load]")) return;
    window.print();
    const link = document.querySelector("a[data-follow-after]");
    if (link) {
      setTimeout(function () { window.location.assign(link.href); }, Number(link.dataset.followAfter) || 20000);
    }
  });

  const end = document.getElementById("receipt-end");
  if (end && document.documentElement.classList.contains("layout-80mm")) {
    // a stylesheet built here, not a <style> element: the policy refuses inline style, not the CSS object model
    const sheet = new CSSStyleSheet();
    document.adoptedStyleSheets = document.adoptedStyleSheets.concat([sheet]);
    window.addEventListener("beforeprint", function () {
      const bottom = end.getBoundingClientRect().bottom + window.scrollY;
      sheet.replaceSync("@page receipt-roll { size: 80mm " + Math.ceil(bottom + 16) + "px; }");
    });
  }
})();
