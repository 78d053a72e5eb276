// One handler for every failed htmx request: the person sees a translated message in the flash region (#flashes),
// the request's target is not swapped (what they typed stays), and nothing else on the page changes.
// - The server's error answers (intranet/errors.py) carry the message out of band, with `HX-Reswap: none` and the
//   header Diwan-Message: htmx swaps only 2xx, 403, 409 and 422 by itself, so for the others it is let through here.
// - When the server said nothing (a proxy's error page, the network down, a timeout), the fallback text comes from
//   the flash region's data- attributes, rendered by the server in the person's language.
(function () {
  "use strict";
  if (window.diwanHtmxErrors) return; // a history restore runs the page's scripts again
  window.diwanHtmxErrors = true;

  function serverSaid(xhr) {
    return Boolean(xhr && xhr.getResponseHeader("Diwan-Message"));
  }

  function show(kind) {
    const region = document.getElementById("flashes");
    if (!region) return;
    const text = region.getAttribute(kind === "offline" ? "data-offline-text" : "data-failed-text");
    const message = document.createElement("p");
    message.className = "flash flash-error";
    message.textContent = text;
    region.replaceChildren(message);
    reveal(region);
  }

  function reveal(region) {
    const box = region.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) region.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    const xhr = event.detail.xhr;
    if (xhr.status >= 400 && serverSaid(xhr)) {
      event.detail.shouldSwap = true; // only the out-of-band message: the answer says HX-Reswap: none
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.xhr && event.detail.xhr.status >= 400 && serverSaid(event.detail.xhr)) {
      const region = document.getElementById("flashes");
      if (region) reveal(region);
    }
  });
  document.addEventListener("htmx:responseError", function (event) {
    if (!serverSaid(event.detail.xhr)) show("failed");
  });
  document.addEventListener("htmx:sendError", function () { show("offline"); });
  document.addEventListener("htmx:timeout", function () { show("offline"); });
})();
