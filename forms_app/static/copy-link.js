/* livret: « Copier » next to a one-time link; without JavaScript the read-only field is selected by hand. */
(function () {
  "use strict";

  function copied(button) {
    button.textContent = button.getAttribute("data-done");
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      var field = document.getElementById(button.getAttribute("data-copy"));
      if (!field) { return; }
      button.hidden = false;
      button.addEventListener("click", function () {
        field.focus();
        field.select();
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(field.value).then(function () { copied(button); });
        } else if (document.execCommand("copy")) {
          copied(button);
        }
      });
    });
    document.querySelectorAll("input.copy-field").forEach(function (field) {
      field.addEventListener("focus", function () { field.select(); });
    });
  });
})();
