// Copy buttons: <button class="copy-value" data-copy="..."> puts its value on the clipboard.
// A static file, not inline script, so a Content-Security-Policy without 'unsafe-inline' holds.
"use strict";
document.addEventListener("click", function (event) {
  const button = event.target.closest("button.copy-value");
  if (!button) {
    return;
  }
  event.preventDefault();
  const value = button.dataset.copy || "";
  const done = function () {
    button.textContent = "Copied";
    window.setTimeout(function () { button.textContent = "Copy"; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(value).then(done);
  } else {
    // Plain http (e.g. a local demo): select the value in a prompt the person can copy from.
    window.prompt("SHA-256", value);
  }
});
