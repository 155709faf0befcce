/* Signing sessions (forms_app/attendance.py): the drawing pad, the trainer's live QR code and list.
   Served by livret (no CDN, no inline script: CSP script-src 'self'). Without JavaScript the pages
   still work: the typed name signs, the trainer reloads the page. */
(function () {
  "use strict";

  var W = 1000, H = 400, MAX_STROKES = 50, MAX_POINTS = 2000;

  function setupPad(form) {
    var pad = form.querySelector("[data-drawing-pad]");
    var canvas = form.querySelector("[data-drawing-canvas]");
    var input = form.querySelector("[data-drawing-input]");
    var drawChoice = form.querySelector("[data-drawing-choice]");
    var typedChoice = form.querySelector("[data-typed-choice]");
    var typedField = form.querySelector("[data-typed-field]");
    if (!pad || !canvas || !input || !drawChoice) { return; }
    form.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
    var ctx = canvas.getContext("2d");
    var strokes = [], current = null, points = 0;

    function sync() {
      var drawing = drawChoice.checked;
      pad.hidden = !drawing;
      typedField.hidden = drawing;
      input.value = drawing && strokes.length ? JSON.stringify(strokes) : "";
    }
    function redraw() {
      ctx.clearRect(0, 0, W, H);
      ctx.lineWidth = 8; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#14213d";
      strokes.forEach(function (s) {
        ctx.beginPath();
        ctx.moveTo(s[0][0], s[0][1]);
        (s.length > 1 ? s : [s[0], s[0]]).forEach(function (p) { ctx.lineTo(p[0], p[1]); });
        ctx.stroke();
      });
    }
    function at(event) {
      var r = canvas.getBoundingClientRect();
      var x = Math.round((event.clientX - r.left) * W / r.width);
      var y = Math.round((event.clientY - r.top) * H / r.height);
      return [Math.max(0, Math.min(W, x)), Math.max(0, Math.min(H, y))];
    }
    canvas.addEventListener("pointerdown", function (event) {
      if (strokes.length >= MAX_STROKES || points >= MAX_POINTS) { return; }
      event.preventDefault();
      if (canvas.setPointerCapture) { try { canvas.setPointerCapture(event.pointerId); } catch (e) { /* synthetic */ } }
      current = [at(event)];
      points += 1;
      strokes.push(current);
      redraw(); sync();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!current || points >= MAX_POINTS) { return; }
      event.preventDefault();
      var p = at(event), last = current[current.length - 1];
      if (p[0] === last[0] && p[1] === last[1]) { return; }
      current.push(p);
      points += 1;
      redraw(); sync();
    });
    ["pointerup", "pointercancel", "pointerleave"].forEach(function (name) {
      canvas.addEventListener(name, function () { current = null; });
    });
    form.querySelector("[data-drawing-clear]").addEventListener("click", function () {
      strokes = []; points = 0; current = null; redraw(); sync();
    });
    drawChoice.addEventListener("change", sync);
    typedChoice.addEventListener("change", sync);
    drawChoice.checked = true;
    sync();
  }

  function every(element, fn) {
    var seconds = parseInt(element.getAttribute("data-refresh"), 10) || 5;
    window.setInterval(fn, seconds * 1000);
  }

  function setupQr(img) {
    var src = img.getAttribute("data-qr-src");
    every(img, function () { img.src = src + "?t=" + Date.now(); });
  }

  function setupList(table) {
    var url = table.getAttribute("data-state-url");
    var count = document.querySelector("[data-state-count]");
    every(table, function () {
      fetch(url, {credentials: "same-origin", cache: "no-store"}).then(function (r) {
        return r.ok ? r.json() : null;
      }).then(function (data) {
        if (!data) { return; }
        data.rows.forEach(function (row) {
          var tr = table.querySelector('tr[data-learner="' + row.id + '"]');
          if (!tr) { return; }
          var label = tr.querySelector('[data-cell="label"] span');
          label.textContent = row.label + (row.minutes ? " (" + row.minutes + " min)" : "");
          label.className = "state state-" + row.state;
          tr.querySelector('[data-cell="signed_at"]').textContent = row.signed_at || "—";
          tr.querySelector('[data-cell="method"]').textContent = row.method || "";
        });
        if (count) { count.textContent = "(" + data.signed + " / " + data.expected + ")"; }
      }).catch(function () { /* offline a moment: the next round tries again */ });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-drawing-form]").forEach(setupPad);
    document.querySelectorAll("img[data-qr-src]").forEach(setupQr);
    document.querySelectorAll("table[data-state-url]").forEach(setupList);
  });
}());
