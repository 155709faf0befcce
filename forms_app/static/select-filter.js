/* livret: a filter box above a long list (select[data-filter]), e.g. « À propos de l'entrée ».
   Typing keeps the options whose text holds every typed word (accents and case ignored); the chosen
   option and the empty one always stay.  Without JavaScript the plain list works as before. */
(function () {
  "use strict";

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function attach(select, index) {
    var box = document.createElement("input");
    box.type = "search";
    box.id = "filtre-" + (select.id || index);
    box.className = "select-filter";
    box.setAttribute("autocomplete", "off");
    box.setAttribute("aria-controls", select.id);
    var label = document.createElement("label");
    label.htmlFor = box.id;
    label.className = "select-filter-label";
    label.textContent = select.getAttribute("data-filter");
    var status = document.createElement("p");
    status.className = "sub";
    status.setAttribute("aria-live", "polite");
    select.parentNode.insertBefore(label, select);
    select.parentNode.insertBefore(box, select);
    select.parentNode.insertBefore(status, select);
    box.addEventListener("input", function () {
      var words = fold(box.value).split(/\s+/).filter(Boolean);
      var shown = 0;
      Array.prototype.forEach.call(select.options, function (option) {
        var keep = !option.value || option.selected || words.every(function (w) {
          return fold(option.text).indexOf(w) !== -1;
        });
        option.hidden = !keep;
        option.disabled = !keep;
        if (keep && option.value) { shown += 1; }
      });
      status.textContent = words.length ? shown + " / " + (select.options.length - 1) : "";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-filter]").forEach(attach);
  });
})();
