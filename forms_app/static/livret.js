/* livret: small enhancements; every page works without this file. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function showJsOnly() {
    document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
  }

  /* Markdown preview, rendered by the server with the portfolio's own sanitizer. */
  function setupPreview() {
    document.querySelectorAll("button[data-preview]").forEach(function (button) {
      var source = document.getElementById(button.getAttribute("data-preview"));
      var target = document.getElementById(source.id + "-preview");
      button.addEventListener("click", function () {
        var data = new FormData();
        data.append("text", source.value);
        button.disabled = true;
        fetch(button.getAttribute("data-url"), {
          method: "POST",
          body: data,
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrfToken() }
        }).then(function (response) {
          return response.text().then(function (text) {
            if (!response.ok) { throw new Error(text || response.statusText); }
            return text;
          });
        }).then(function (html) {
          target.innerHTML = html;  /* sanitized by the server (livret.markdown) */
          target.hidden = false;
        }).catch(function (error) {
          target.textContent = "Aperçu indisponible : " + error.message;
          target.hidden = false;
        }).finally(function () {
          button.disabled = false;
        });
      });
    });
  }

  /* Competency picker: choosing a level ticks the competency; a filter box. */
  function setupCompetencies() {
    document.querySelectorAll("select[data-checks]").forEach(function (select) {
      select.addEventListener("change", function () {
        var box = document.getElementById(select.getAttribute("data-checks"));
        if (box && select.value) { box.checked = true; }
      });
    });
    document.querySelectorAll("input[data-filter-for]").forEach(function (input) {
      var picker = document.getElementById(input.getAttribute("data-filter-for"));
      input.addEventListener("input", function () {
        var query = input.value.trim().toLowerCase();
        picker.querySelectorAll(".competency-row").forEach(function (row) {
          row.hidden = query !== "" && row.getAttribute("data-search").indexOf(query) === -1;
        });
        /* A block none of whose competencies matches goes too (its legend alone would read as a match). */
        picker.querySelectorAll(".competency-block").forEach(function (block) {
          block.hidden = block.querySelector(".competency-row:not([hidden])") === null;
        });
      });
    });
  }

  /* Move the focus to the error summary, so screen readers announce it. */
  function focusErrors() {
    var summary = document.getElementById("erreurs");
    if (summary) { summary.focus(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    showJsOnly();
    setupPreview();
    setupCompetencies();
    focusErrors();
  });
})();
