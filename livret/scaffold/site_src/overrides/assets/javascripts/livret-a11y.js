/* livret: keyboard access to the tables that scroll sideways (WCAG 2.1.1, axe's scrollable-region-focusable).
   Material wraps each table in a .md-typeset__scrollwrap; one that is narrower than its table (a phone) gets
   into the tab order, so the arrow keys can scroll it, and is named for screen readers. */
(function () {
  function reachable() {
    document.querySelectorAll(".md-typeset__scrollwrap").forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth) {
        wrap.tabIndex = 0;
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", "Tableau (défilement horizontal)");
      } else if (wrap.getAttribute("role") === "region") {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
      }
    });
  }
  if (typeof document$ !== "undefined") {
    document$.subscribe(reachable);
  } else {
    document.addEventListener("DOMContentLoaded", reachable);
  }
  window.addEventListener("resize", reachable);
})();
