// The page: a latent plane to point at (with axis ticks), the digit the decoder draws there, the
// numbers, a canvas to draw a digit on and see where the encoder puts it, the test image under the
// pointer with its reconstruction, interpolation between two clicked points, sliders for every
// coordinate of a latent of more than two dimensions, and a digit selector for a model with labels.
// The encoding and decoding are tinyvaeNetwork's (network.js). The page follows what the model
// description says the model has (a posterior, labels), never the model's name.
//
// For scripts and tests: window.tinyvae.decode(z, digit) returns the 784 pixel values (an Array) for a
// latent vector z; window.tinyvae.encode(pixels, digit) the posterior mean (an AE: its code) of 784
// pixel values in [0, 1]; window.tinyvae.posterior(pixels, digit) {mean, logvar} (logvar null without
// a posterior); window.tinyvae.drawnInput() the 784 values the encoder last read from the drawing
// (null before any); digit only for a model with labels; window.tinyvae.dot(k) test image k's point
// (a, b) on the plane and window.tinyvae.screenXY(a, b) where a plane point is in the window;
// window.tinyvae.ready is true once loaded.
(function () {
  "use strict";

  var hook = { ready: false };
  window.tinyvae = hook;

  var data = JSON.parse(document.getElementById("tinyvae-data").textContent);
  var model = data.model, plane = data.plane, Z = model.z_dim, LABELS = model.n_classes;
  var net = tinyvaeNetwork.makeNetwork(model);
  var ab = tinyvaeNetwork.floatsFromBase64(data.points.ab);  // (n, 2): the test means on the plane
  var digits = data.points.digits;
  var images = tinyvaeNetwork.bytesFromBase64(data.points.images);  // (nImages, x_dim) bytes
  var nImages = Math.floor(images.length / model.x_dim);
  // matplotlib's tab10, the colours of tinyvae's scatter figures
  var COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  var SIDE = model.side, STEPS = 10;

  var state = { z: new Float64Array(Z), a: 0, b: 0, onPlane: true, digit: LABELS ? 0 : null,
                first: null, path: null, animating: false, drawn: null, hovered: -1 };

  var $ = function (id) { return document.getElementById(id); };
  var planeCanvas = $("plane"), planeCtx = planeCanvas.getContext("2d");

  // ---- the plane: z = center + a * axes[0] + b * axes[1], drawn in a square with margins for ticks --
  function zAt(a, b) {
    var z = new Float64Array(Z);
    for (var i = 0; i < Z; i++) z[i] = plane.center[i] + a * plane.axes[0][i] + b * plane.axes[1][i];
    return z;
  }
  function project(z) {  // (a, b) of z's projection onto the plane
    var a = 0, b = 0;
    for (var i = 0; i < Z; i++) {
      a += (z[i] - plane.center[i]) * plane.axes[0][i];
      b += (z[i] - plane.center[i]) * plane.axes[1][i];
    }
    return [a, b];
  }
  var W = planeCanvas.width, H = planeCanvas.height, M = { left: 46, right: 10, top: 10, bottom: 46 };
  var PW = W - M.left - M.right, PH = H - M.top - M.bottom;  // the plot square
  var ca = plane.view.center[0], cb = plane.view.center[1], half = plane.view.half_width;
  function toPixel(a, b) { return [M.left + ((a - ca) / half + 1) * PW / 2, M.top + (1 - (b - cb) / half) * PH / 2]; }
  function fromPixel(px, py) { return [ca + (2 * (px - M.left) / PW - 1) * half, cb + (1 - 2 * (py - M.top) / PH) * half]; }
  function scale(r) { return r / half * PW / 2; }  // a length on the plane, in pixels

  function tickStep(span) {  // 1, 2 or 5 times a power of ten, about six ticks across span
    var raw = span / 6, p = Math.pow(10, Math.floor(Math.log(raw) / Math.LN10));
    return raw / p < 1.5 ? p : raw / p < 3.5 ? 2 * p : raw / p < 7.5 ? 5 * p : 10 * p;
  }

  var background = document.createElement("canvas");
  background.width = W; background.height = H;
  function drawBackground() {
    var g = background.getContext("2d");
    g.fillStyle = "#ffffff"; g.fillRect(0, 0, W, H);
    g.save(); g.beginPath(); g.rect(M.left, M.top, PW, PH); g.clip();
    var step = tickStep(2 * half), digitsAfter = Math.max(0, -Math.floor(Math.log(step) / Math.LN10 + 1e-9));
    var ticks = { a: [], b: [] };
    for (var t = Math.ceil((ca - half) / step) * step; t <= ca + half; t += step) ticks.a.push(t);
    for (t = Math.ceil((cb - half) / step) * step; t <= cb + half; t += step) ticks.b.push(t);
    g.strokeStyle = "#eeeeee"; g.lineWidth = 1; g.beginPath();
    ticks.a.forEach(function (v) { var p = toPixel(v, cb); g.moveTo(p[0], M.top); g.lineTo(p[0], M.top + PH); });
    ticks.b.forEach(function (v) { var p = toPixel(ca, v); g.moveTo(M.left, p[1]); g.lineTo(M.left + PW, p[1]); });
    g.stroke();
    var o = toPixel(0, 0);
    g.strokeStyle = "#cccccc"; g.beginPath();
    g.moveTo(M.left, o[1]); g.lineTo(M.left + PW, o[1]); g.moveTo(o[0], M.top); g.lineTo(o[0], M.top + PH); g.stroke();
    if (Z === 2 && model.posterior) {  // circles ‖z‖ = 1, 2, 3 of the prior N(0, I)
      g.setLineDash([4, 4]); g.strokeStyle = "#999999";
      for (var r = 1; r <= 3; r++) { g.beginPath(); g.arc(o[0], o[1], scale(r), 0, 2 * Math.PI); g.stroke(); }
      g.setLineDash([]);
    }
    g.globalAlpha = 0.7;
    for (var k = 0; k < digits.length; k++) {
      var p = toPixel(ab[2 * k], ab[2 * k + 1]);
      g.fillStyle = COLOURS[digits[k] % 10];
      g.fillRect(p[0] - 1.5, p[1] - 1.5, 3, 3);
    }
    g.restore();
    g.strokeStyle = "#888888"; g.strokeRect(M.left + 0.5, M.top + 0.5, PW - 1, PH - 1);
    g.fillStyle = "#333333"; g.font = "14px sans-serif"; g.textAlign = "center"; g.textBaseline = "top";
    ticks.a.forEach(function (v) {
      var p = toPixel(v, cb);
      g.fillRect(p[0] - 0.5, M.top + PH, 1, 5); g.fillText(v.toFixed(digitsAfter), p[0], M.top + PH + 7);
    });
    g.textAlign = "right"; g.textBaseline = "middle";
    ticks.b.forEach(function (v) {
      var p = toPixel(ca, v);
      g.fillRect(M.left - 5, p[1] - 0.5, 5, 1); g.fillText(v.toFixed(digitsAfter), M.left - 8, p[1]);
    });
    g.font = "bold 15px sans-serif"; g.textAlign = "center"; g.textBaseline = "bottom";
    g.fillText(plane.names[0], M.left + PW / 2, H - 4);
    g.save(); g.translate(14, M.top + PH / 2); g.rotate(-Math.PI / 2); g.textBaseline = "middle";
    g.fillText(plane.names[1], 0, 0); g.restore();
  }

  function marker(p, label, fill) {  // a filled circle with a letter: the ends of an interpolation
    planeCtx.fillStyle = fill; planeCtx.strokeStyle = "#ffffff"; planeCtx.lineWidth = 2;
    planeCtx.beginPath(); planeCtx.arc(p[0], p[1], 9, 0, 2 * Math.PI); planeCtx.fill(); planeCtx.stroke();
    planeCtx.fillStyle = "#ffffff"; planeCtx.font = "bold 11px sans-serif";
    planeCtx.textAlign = "center"; planeCtx.textBaseline = "middle"; planeCtx.fillText(label, p[0], p[1] + 0.5);
  }

  function drawPath() {
    if (state.path) {
      var A = toPixel(state.path[0][0], state.path[0][1]), B = toPixel(state.path[1][0], state.path[1][1]);
      planeCtx.strokeStyle = "#222222"; planeCtx.lineWidth = 2; planeCtx.setLineDash([6, 4]);
      planeCtx.beginPath(); planeCtx.moveTo(A[0], A[1]); planeCtx.lineTo(B[0], B[1]); planeCtx.stroke();
      planeCtx.setLineDash([]); planeCtx.fillStyle = "#222222";
      for (var k = 1; k < STEPS - 1; k++) {  // the steps the strip decodes
        var t = k / (STEPS - 1);
        planeCtx.beginPath(); planeCtx.arc((1 - t) * A[0] + t * B[0], (1 - t) * A[1] + t * B[1], 3, 0, 2 * Math.PI); planeCtx.fill();
      }
      marker(A, "A", "#2b6cb0"); marker(B, "B", "#c53030");
    } else if (state.first) {
      marker(toPixel(state.first[0], state.first[1]), "A", "#2b6cb0");
    }
  }

  function drawCode() {  // the drawing's code: its mean, and q(z|x) two standard deviations around it
    var d = state.drawn, p = toPixel(d.ab[0], d.ab[1]);
    if (d.logvar) {
      var s = [[0, 0], [0, 0]];  // the posterior's covariance seen on the plane: A diag(σ²) Aᵀ
      for (var i = 0; i < Z; i++) {
        var v = Math.exp(d.logvar[i]);
        for (var k = 0; k < 2; k++) for (var l = 0; l < 2; l++) s[k][l] += plane.axes[k][i] * plane.axes[l][i] * v;
      }
      var mid = (s[0][0] + s[1][1]) / 2, gap = Math.sqrt(Math.pow((s[0][0] - s[1][1]) / 2, 2) + s[0][1] * s[0][1]);
      var angle = 0.5 * Math.atan2(2 * s[0][1], s[0][0] - s[1][1]);
      planeCtx.fillStyle = "rgba(0, 0, 0, 0.08)"; planeCtx.strokeStyle = "#000000"; planeCtx.lineWidth = 1.5;
      planeCtx.beginPath();
      planeCtx.ellipse(p[0], p[1], Math.max(1, scale(2 * Math.sqrt(mid + gap))),
                       Math.max(1, scale(2 * Math.sqrt(Math.max(mid - gap, 0)))), -angle, 0, 2 * Math.PI);
      planeCtx.fill(); planeCtx.stroke();
    }
    planeCtx.fillStyle = "#000000"; planeCtx.strokeStyle = "#ffffff"; planeCtx.lineWidth = 2;
    planeCtx.beginPath();
    planeCtx.moveTo(p[0], p[1] - 8); planeCtx.lineTo(p[0] + 8, p[1]); planeCtx.lineTo(p[0], p[1] + 8); planeCtx.lineTo(p[0] - 8, p[1]);
    planeCtx.closePath(); planeCtx.fill(); planeCtx.stroke();
  }

  function drawPlane() {
    planeCtx.drawImage(background, 0, 0);
    if (state.hovered >= 0) {
      var h = toPixel(ab[2 * state.hovered], ab[2 * state.hovered + 1]);
      planeCtx.strokeStyle = COLOURS[digits[state.hovered] % 10]; planeCtx.lineWidth = 3;
      planeCtx.beginPath(); planeCtx.arc(h[0], h[1], 11, 0, 2 * Math.PI); planeCtx.stroke();
    }
    drawPath();
    if (state.drawn) drawCode();
    var p = toPixel(state.a, state.b);
    planeCtx.strokeStyle = state.onPlane ? "#000000" : "#888888"; planeCtx.lineWidth = 2;
    planeCtx.beginPath(); planeCtx.arc(p[0], p[1], 7, 0, 2 * Math.PI); planeCtx.stroke();
    planeCtx.beginPath();
    planeCtx.moveTo(p[0] - 11, p[1]); planeCtx.lineTo(p[0] + 11, p[1]);
    planeCtx.moveTo(p[0], p[1] - 11); planeCtx.lineTo(p[0], p[1] + 11); planeCtx.stroke();
  }

  // ---- digits on canvases -----------------------------------------------------------------------------
  var small = document.createElement("canvas");
  small.width = SIDE; small.height = SIDE;
  function paint(canvas, x, left, top, size) {  // white digit on black, as tinyvae's figures
    var g = small.getContext("2d"), img = g.createImageData(SIDE, SIDE);
    for (var i = 0; i < SIDE * SIDE; i++) {
      var v = Math.round(255 * Math.min(1, Math.max(0, x[i])));
      img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
      img.data[4 * i + 3] = 255;
    }
    g.putImageData(img, 0, 0);
    var ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(small, left || 0, top || 0, size || canvas.width, size || canvas.height);
  }

  function fmt(v) { return (v >= 0 ? " " : "") + v.toFixed(2); }
  function vector(v) {
    var shown = Array.prototype.map.call(v, fmt);
    return "(" + (v.length <= 8 ? shown.join(", ") : shown.slice(0, 8).join(", ") + ", …") + ")";
  }

  function showNumbers(z) {
    var sq = 0;
    for (var i = 0; i < Z; i++) sq += z[i] * z[i];
    $("z-value").textContent = vector(z);
    $("z-norm").textContent = Math.sqrt(sq).toFixed(3);
    // log N(z; 0, I) = -(d/2) log 2π - ‖z‖²/2
    var logp = -0.5 * Z * Math.log(2 * Math.PI) - 0.5 * sq;
    $("z-density").textContent = Math.exp(logp).toPrecision(3);
    $("z-log-density").textContent = logp.toFixed(2);
    $("z-relative").textContent = Math.exp(-0.5 * sq).toPrecision(3);
  }

  function update() {
    paint($("digit"), net.decode(state.z, state.digit));
    showNumbers(state.z);
    drawPlane();
    for (var i = 0; i < Z && Z > 2; i++) {
      $("slider-" + i).value = state.z[i];
      $("slider-value-" + i).textContent = fmt(state.z[i]);
    }
  }

  function moveTo(a, b) {
    state.a = Math.max(ca - half, Math.min(ca + half, a));
    state.b = Math.max(cb - half, Math.min(cb + half, b));
    state.z = zAt(state.a, state.b);
    state.onPlane = true;
    update();
  }

  // ---- interpolation between two clicked points -----------------------------------------------------
  var HINTS = {
    start: "Move over the plane (a finger, or the arrow keys) to decode any z. Click a point (or press Enter) " +
      "to start an interpolation there.",
    end: "Start A set. Now click the end point B (or move there and press Enter).",
    done: "The strip shows the path from A to B. Click a point to start a new interpolation."
  };
  function interpolate(from, to) {
    var zA = zAt(from[0], from[1]), zB = zAt(to[0], to[1]), strip = $("strip"), cell = strip.width / STEPS;
    var g = strip.getContext("2d");
    g.fillStyle = "#ffffff"; g.fillRect(0, 0, strip.width, strip.height);
    for (var k = 0; k < STEPS; k++) {  // z_t = (1 - t) z_A + t z_B, t = 0, 1/9, ..., 1
      var t = k / (STEPS - 1), zt = new Float64Array(Z);
      for (var i = 0; i < Z; i++) zt[i] = (1 - t) * zA[i] + t * zB[i];
      paint(strip, net.decode(zt, state.digit), k * cell + 1, 1, cell - 2);
    }
    $("strip-caption").textContent = "From A (" + from.map(fmt).join(",") + ") to B (" + to.map(fmt).join(",") +
      ") on the plane, " + STEPS + " equal steps: z_t = (1 - t) z_A + t z_B.";
    var start = null, DURATION = 1500;
    state.animating = true;
    function frame(now) {
      if (start === null) start = now;
      var t = Math.min(1, (now - start) / DURATION);
      moveTo((1 - t) * from[0] + t * to[0], (1 - t) * from[1] + t * to[1]);
      if (t < 1) window.requestAnimationFrame(frame); else state.animating = false;
    }
    window.requestAnimationFrame(frame);
  }

  function mark(a, b) {
    if (state.first === null) {
      state.first = [a, b]; state.path = null;
      $("plane-hint").textContent = HINTS.end;
      moveTo(a, b);
      return;
    }
    state.path = [state.first, [a, b]];
    state.first = null;
    $("plane-hint").textContent = HINTS.done;
    interpolate(state.path[0], state.path[1]);
  }

  // ---- the encoder: a test image under the pointer, and a digit drawn by hand -----------------------
  function image(k) {
    var x = new Float64Array(model.x_dim);
    for (var i = 0; i < model.x_dim; i++) x[i] = images[k * model.x_dim + i] / 255;
    return x;
  }
  function label(k) { return LABELS ? digits[k] : undefined; }

  function hover(px, py) {  // the nearest test dot that has its image, within 10 pixels
    var best = -1, bestD = 100;
    for (var k = 0; k < nImages; k++) {
      var p = toPixel(ab[2 * k], ab[2 * k + 1]), d = (p[0] - px) * (p[0] - px) + (p[1] - py) * (p[1] - py);
      if (d < bestD) { best = k; bestD = d; }
    }
    if (best < 0 || best === state.hovered) return;
    state.hovered = best;
    var x = image(best), code = net.encode(x, label(best));
    paint($("test-image"), x);
    paint($("test-recon"), net.decode(code.mean, label(best)));
    $("test-caption").textContent = "Test image " + (best + 1) + ", a " + digits[best] + ": its " +
      (model.posterior ? "mean" : "code") + " is the ringed dot, " + vector(code.mean) + "; the reconstruction " +
      "is the decoder's digit there" + (LABELS ? ", given the image's own label." : ".");
  }

  var draw = $("draw"), drawCtx = draw.getContext("2d"), drawn = null, pending = false;
  function clearDrawing() {
    drawCtx.fillStyle = "#000000"; drawCtx.fillRect(0, 0, draw.width, draw.height);
    state.drawn = null; drawn = null;
    paint($("drawn"), new Float64Array(model.x_dim)); paint($("drawn-recon"), new Float64Array(model.x_dim));
    $("draw-caption").textContent = "Draw a digit in the black square: the encoder reads it as MNIST's digits " +
      "were made (fitted into 20 × 20 pixels, centred by its mass in 28 × 28), and its code lands on the plane " +
      "(the black diamond" + (model.posterior ? "; the ellipse: q(z|x), two standard deviations around the mean)." : ").");
    drawPlane();
  }

  // the strokes (draw.width² pixels) -> 784 numbers in [0, 1]: box-averaged into a 20 × 20 box, centred by mass
  function mnistInput() {
    var n = draw.width, rgba = drawCtx.getImageData(0, 0, n, n).data, g = new Float64Array(n * n);
    var x0 = n, x1 = -1, y0 = n, y1 = -1, mass = 0, mx = 0, my = 0;
    for (var y = 0; y < n; y++) {
      for (var x = 0; x < n; x++) {
        var v = rgba[4 * (y * n + x)] / 255;
        g[y * n + x] = v;
        if (v > 0.1) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
        mass += v; mx += v * (x + 0.5); my += v * (y + 0.5);
      }
    }
    var out = new Float64Array(SIDE * SIDE);
    if (x1 < 0) return out;
    var per = Math.max(x1 - x0 + 1, y1 - y0 + 1) / Math.round(SIDE * 20 / 28);  // stroke pixels per input pixel
    mx /= mass; my /= mass;
    for (var v2 = 0; v2 < SIDE; v2++) {
      for (var u = 0; u < SIDE; u++) {
        var sx0 = mx + (u - SIDE / 2) * per, sy0 = my + (v2 - SIDE / 2) * per, sum = 0, count = 0;
        for (var yy = Math.floor(sy0); yy < Math.max(Math.floor(sy0) + 1, Math.ceil(sy0 + per)); yy++) {
          for (var xx = Math.floor(sx0); xx < Math.max(Math.floor(sx0) + 1, Math.ceil(sx0 + per)); xx++) {
            count++;
            if (yy >= 0 && yy < n && xx >= 0 && xx < n) sum += g[yy * n + xx];
          }
        }
        out[v2 * SIDE + u] = Math.min(1, sum / count);
      }
    }
    return out;
  }

  function encodeDrawing() {
    pending = false;
    drawn = mnistInput();
    var code = net.encode(drawn, state.digit === null ? undefined : state.digit);
    state.drawn = { mean: code.mean, logvar: code.logvar, ab: project(code.mean) };
    paint($("drawn"), drawn);
    paint($("drawn-recon"), net.decode(code.mean, state.digit === null ? undefined : state.digit));
    var words = "Its " + (code.logvar ? "posterior mean" : "code") + " is " + vector(code.mean);
    if (code.logvar) words += ", standard deviation " + vector(code.logvar.map(function (l) { return Math.exp(0.5 * l); }));
    $("draw-caption").textContent = words + (LABELS ? ", encoded as a " + state.digit : "") +
      ": the black diamond on the plane" + (code.logvar ? ", inside the ellipse of q(z|x) (two standard deviations)." : ".");
    drawPlane();
  }

  var last = null;
  function strokeTo(event) {
    var r = draw.getBoundingClientRect();
    var p = [(event.clientX - r.left) * draw.width / r.width, (event.clientY - r.top) * draw.height / r.height];
    drawCtx.strokeStyle = "#ffffff"; drawCtx.lineWidth = draw.width / 12; drawCtx.lineCap = "round"; drawCtx.lineJoin = "round";
    drawCtx.beginPath(); drawCtx.moveTo((last || p)[0], (last || p)[1]); drawCtx.lineTo(p[0], p[1]); drawCtx.stroke();
    last = p;
    if (!pending) { pending = true; window.requestAnimationFrame(encodeDrawing); }
  }
  draw.addEventListener("pointerdown", function (event) {
    event.preventDefault(); draw.setPointerCapture(event.pointerId); last = null; strokeTo(event);
  });
  draw.addEventListener("pointermove", function (event) { if (last) strokeTo(event); });
  draw.addEventListener("pointerup", function () { last = null; });
  draw.addEventListener("pointercancel", function () { last = null; });
  $("clear").addEventListener("click", clearDrawing);

  // ---- input on the plane: pointer (mouse, pen, touch), keys ---------------------------------------------
  function pointerPixel(event) {
    var r = planeCanvas.getBoundingClientRect();
    return [(event.clientX - r.left) * W / r.width, (event.clientY - r.top) * H / r.height];
  }
  function follow(event) {
    if (state.animating) return;
    var px = pointerPixel(event), p = fromPixel(px[0], px[1]);
    hover(px[0], px[1]);
    moveTo(p[0], p[1]);
  }
  planeCanvas.addEventListener("pointermove", follow);
  planeCanvas.addEventListener("pointerdown", follow);
  planeCanvas.addEventListener("click", function (event) {
    if (state.animating) return;
    var px = pointerPixel(event), p = fromPixel(px[0], px[1]);
    mark(p[0], p[1]);
  });
  planeCanvas.addEventListener("keydown", function (event) {
    var step = half / (event.shiftKey ? 5 : 40);
    var moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (moves[event.key] && !state.animating) {
      event.preventDefault();
      moveTo(state.a + moves[event.key][0], state.b + moves[event.key][1]);
    } else if ((event.key === "Enter" || event.key === " ") && !state.animating) {
      event.preventDefault();
      mark(state.a, state.b);
    }
  });

  // ---- sliders (a latent of more than two dimensions), digit buttons (a model with labels), legend ------
  function buildSliders() {
    $("slider-panel").hidden = false;
    $("slider-caption").textContent = "Move any coordinate; z then leaves the plane (the marker turns grey and " +
      "shows its projection).";
    var box = $("sliders");
    for (var i = 0; i < Z; i++) {
      var row = document.createElement("label"); row.className = "slider";
      var name = document.createElement("span"); name.textContent = "z" + (i + 1);
      var input = document.createElement("input");
      input.type = "range"; input.id = "slider-" + i; input.step = "any";
      input.min = data.sliders.lo[i]; input.max = data.sliders.hi[i];
      var value = document.createElement("span"); value.id = "slider-value-" + i; value.className = "value";
      input.addEventListener("input", (function (i) {
        return function (event) {
          state.z[i] = parseFloat(event.target.value);
          var p = project(state.z);
          state.a = p[0]; state.b = p[1];
          state.onPlane = false;
          update();
        };
      })(i));
      row.appendChild(name); row.appendChild(input); row.appendChild(value);
      box.appendChild(row);
    }
    $("to-plane").addEventListener("click", function () { moveTo(state.a, state.b); });
  }

  function buildDigitButtons() {
    $("condition").hidden = false;
    var box = $("digit-buttons");
    for (var d = 0; d < LABELS; d++) {
      var button = document.createElement("button");
      button.type = "button"; button.textContent = d; button.id = "digit-" + d;
      button.setAttribute("role", "radio");
      button.style.borderColor = COLOURS[d % 10];
      button.addEventListener("click", (function (d) { return function () { selectDigit(d); }; })(d));
      box.appendChild(button);
    }
  }
  function selectDigit(d) {
    state.digit = d;
    for (var k = 0; k < LABELS; k++) $("digit-" + k).setAttribute("aria-checked", String(k === d));
    if (drawn) encodeDrawing();
    update();
  }

  function buildLegend() {
    var box = $("legend");
    for (var d = 0; d < 10; d++) {
      if (digits.indexOf(d) < 0) continue;
      var item = document.createElement("li"), swatch = document.createElement("span");
      swatch.className = "swatch"; swatch.style.background = COLOURS[d];
      item.appendChild(swatch); item.appendChild(document.createTextNode(String(d)));
      box.appendChild(item);
    }
  }

  // ---- the words -------------------------------------------------------------------------------------
  function describe() {
    var n = digits.length, point = model.posterior ? "latent mean" : "code";
    $("subtitle").textContent = data.title + ": " + model.name + ", latent z of " + Z + " dimensions, " +
      (n < data.points.of ? "the first " + n + " of " + data.points.of : n) + " test images.";
    $("plane-caption").textContent = (Z === 2 ?
      "Each dot is the " + point + " of one test image, coloured by its digit." +
        (model.posterior ? " Dashed circles: ‖z‖ = 1, 2, 3 under the prior N(0, I)." : "") :
      "The plane through the mean of the test " + point + "s spanned by their first two principal directions " +
        "(PC1, PC2; it holds " + (100 * plane.variance_held).toFixed(1) + "% of their variance). Each dot is one " +
        "test image's projection; on the plane the other directions are held at the mean.") +
      " The first " + nImages + " dots carry their image: point at one to see it below.";
    $("plane-title").textContent = Z === 2 ? "The latent plane (z1, z2)" : "The latent space, seen on its PC1-PC2 plane";
    $("plane-hint").textContent = HINTS.start;
    $("strip-caption").textContent = "Click two points on the plane: the decoder's digits along the straight path between them appear here.";
    $("test-caption").textContent = "Point at (or tap) a test dot on the plane: its image, and the decoder's digit at its " + point + ".";
    $("prior-caption").textContent = model.posterior ?
      "p(z) is the density of the prior N(0, I) at z; the KL term of the loss pulls each image's posterior towards it." :
      "This model has no prior: N(0, I) is shown only to compare with a VAE.";
    if (!model.posterior) {
      var note = $("note");
      note.hidden = false;
      note.textContent = "A plain autoencoder: its decoder was trained only on the codes of the training images. " +
        "Between those codes it has never been trained, so nothing makes what it draws there look like a digit " +
        "(the lecture's argument for the VAE).";
    }
  }

  describe();
  drawBackground();
  buildLegend();
  if (Z > 2) buildSliders();
  if (LABELS) buildDigitButtons();
  clearDrawing();
  hook.decode = function (z, digit) { return Array.from(net.decode(z, digit)); };
  hook.posterior = function (pixels, digit) {
    var code = net.encode(pixels, digit);
    return { mean: Array.from(code.mean), logvar: code.logvar ? Array.from(code.logvar) : null };
  };
  hook.encode = function (pixels, digit) { return hook.posterior(pixels, digit).mean; };
  hook.drawnInput = function () { return drawn ? Array.from(drawn) : null; };
  hook.dot = function (k) { return [ab[2 * k], ab[2 * k + 1]]; };  // test image k's point (a, b) on the plane
  hook.screenXY = function (a, b) {  // where the plane point (a, b) is in the window (CSS pixels)
    var r = planeCanvas.getBoundingClientRect(), p = toPixel(a, b);
    return [r.left + p[0] * r.width / W, r.top + p[1] * r.height / H];
  };
  if (model.posterior) moveTo(0, 0); else moveTo(ca, cb);  // with a prior, start at its mode z = 0
  if (LABELS) selectDigit(0);
  hook.ready = true;
})();
