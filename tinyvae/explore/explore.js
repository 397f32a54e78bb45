// The page: a latent plane to point at, the digit the decoder draws there, the numbers, sliders
// for every coordinate of z, a digit selector for a conditional VAE, and interpolation between
// two clicked points. The decoding itself is tinyvaeDecoder (decoder.js).
//
// For scripts and tests: window.tinyvae.decode(z, digit) returns the 784 pixel values (an Array)
// for a latent vector z (an Array of z_dim numbers; digit only for a conditional VAE), and
// window.tinyvae.ready is true once the weights are loaded.
(function () {
  "use strict";

  var hook = { ready: false, decode: null };
  window.tinyvae = hook;

  var data = JSON.parse(document.getElementById("tinyvae-data").textContent);
  var model = data.model, plane = data.plane, Z = model.z_dim;
  var decoder = tinyvaeDecoder.makeDecoder(model);
  var ab = tinyvaeDecoder.floatsFromBase64(data.points.ab);  // (n, 2): the test means on the plane
  var digits = data.points.digits;
  // matplotlib's tab10, the colours of tinyvae's scatter figures
  var COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  var SIDE = Math.round(Math.sqrt(model.x_dim));

  var state = { z: new Float64Array(Z), a: 0, b: 0, onPlane: true, digit: 0, first: null, animating: false };

  var $ = function (id) { return document.getElementById(id); };
  var planeCanvas = $("plane"), digitCanvas = $("digit"), stripCanvas = $("strip");
  var planeCtx = planeCanvas.getContext("2d"), digitCtx = digitCanvas.getContext("2d");
  var stripCtx = stripCanvas.getContext("2d");

  // ---- the plane: z = center + a * axes[0] + b * axes[1] ---------------------------------------
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
  // the square of the plane on screen: centre (ca, cb), half its width
  var W = planeCanvas.width, H = planeCanvas.height;
  var ca = plane.view.center[0], cb = plane.view.center[1], half = plane.view.half_width;
  function toPixel(a, b) { return [((a - ca) / half + 1) * W / 2, (1 - (b - cb) / half) * H / 2]; }
  function fromPixel(px, py) { return [ca + (2 * px / W - 1) * half, cb + (1 - 2 * py / H) * half]; }

  var background = document.createElement("canvas");
  background.width = W; background.height = H;
  function drawBackground() {
    var g = background.getContext("2d");
    g.fillStyle = "#ffffff"; g.fillRect(0, 0, W, H);
    g.strokeStyle = "#dddddd"; g.lineWidth = 1;
    var o = toPixel(0, 0);
    g.beginPath(); g.moveTo(0, o[1]); g.lineTo(W, o[1]); g.moveTo(o[0], 0); g.lineTo(o[0], H); g.stroke();
    if (Z === 2 && model.kind !== "ae") {  // circles ‖z‖ = 1, 2, 3 of the prior N(0, I)
      g.setLineDash([4, 4]); g.strokeStyle = "#999999";
      for (var r = 1; r <= 3; r++) {
        g.beginPath(); g.arc(o[0], o[1], r / half * W / 2, 0, 2 * Math.PI); g.stroke();
      }
      g.setLineDash([]);
    }
    g.globalAlpha = 0.75;
    for (var k = 0; k < digits.length; k++) {
      var p = toPixel(ab[2 * k], ab[2 * k + 1]);
      g.fillStyle = COLOURS[digits[k] % 10];
      g.fillRect(p[0] - 1.5, p[1] - 1.5, 3, 3);
    }
    g.globalAlpha = 1;
    g.fillStyle = "#333333"; g.font = "12px sans-serif";
    g.textAlign = "right"; g.fillText(plane.names[0] + " →", W - 6, H - 6);
    g.textAlign = "left"; g.fillText("↑ " + plane.names[1], 6, 14);
  }

  function drawPlane() {
    planeCtx.drawImage(background, 0, 0);
    if (state.first) {
      var f = toPixel(state.first[0], state.first[1]);
      planeCtx.strokeStyle = "#000000"; planeCtx.lineWidth = 2;
      planeCtx.strokeRect(f[0] - 5, f[1] - 5, 10, 10);
    }
    var p = toPixel(state.a, state.b);
    planeCtx.strokeStyle = state.onPlane ? "#000000" : "#888888"; planeCtx.lineWidth = 2;
    planeCtx.beginPath(); planeCtx.arc(p[0], p[1], 7, 0, 2 * Math.PI); planeCtx.stroke();
    planeCtx.beginPath();
    planeCtx.moveTo(p[0] - 11, p[1]); planeCtx.lineTo(p[0] + 11, p[1]);
    planeCtx.moveTo(p[0], p[1] - 11); planeCtx.lineTo(p[0], p[1] + 11); planeCtx.stroke();
  }

  // ---- the digit --------------------------------------------------------------------------------
  var small = document.createElement("canvas");
  small.width = SIDE; small.height = SIDE;
  function paint(ctx, x, left, top, size) {  // white digit on black, as tinyvae's figures
    var g = small.getContext("2d"), img = g.createImageData(SIDE, SIDE);
    for (var i = 0; i < SIDE * SIDE; i++) {
      var v = Math.round(255 * Math.min(1, Math.max(0, x[i])));
      img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
      img.data[4 * i + 3] = 255;
    }
    g.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(small, left, top, size, size);
  }

  function fmt(v) { return (v >= 0 ? " " : "") + v.toFixed(2); }

  function showNumbers(z) {
    var sq = 0;
    for (var i = 0; i < Z; i++) sq += z[i] * z[i];
    var shown = Array.prototype.map.call(z, fmt);
    $("z-value").textContent = "(" + (Z <= 8 ? shown.join(", ") : shown.slice(0, 8).join(", ") + ", …") + ")";
    $("z-norm").textContent = Math.sqrt(sq).toFixed(3);
    // log N(z; 0, I) = -(d/2) log 2π - ‖z‖²/2
    var logp = -0.5 * Z * Math.log(2 * Math.PI) - 0.5 * sq;
    $("z-density").textContent = Math.exp(logp).toPrecision(3) + "   (log p = " + logp.toFixed(2) + ")";
    $("z-relative").textContent = Math.exp(-0.5 * sq).toPrecision(3);
  }

  function update() {
    var x = decoder.decode(state.z, state.digit);
    paint(digitCtx, x, 0, 0, digitCanvas.width);
    showNumbers(state.z);
    drawPlane();
    for (var i = 0; i < Z; i++) {
      var s = $("slider-" + i);
      s.value = state.z[i];
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
  var STEPS = 10;
  function interpolate(from, to) {
    var zA = zAt(from[0], from[1]), zB = zAt(to[0], to[1]);
    var cell = stripCanvas.width / STEPS;
    stripCtx.fillStyle = "#ffffff"; stripCtx.fillRect(0, 0, stripCanvas.width, stripCanvas.height);
    for (var k = 0; k < STEPS; k++) {  // z_t = (1 - t) z_A + t z_B, t = 0, 1/9, ..., 1
      var t = k / (STEPS - 1), zt = new Float64Array(Z);
      for (var i = 0; i < Z; i++) zt[i] = (1 - t) * zA[i] + t * zB[i];
      paint(stripCtx, decoder.decode(zt, state.digit), k * cell + 1, 1, cell - 2);
    }
    $("strip-caption").textContent = "z from (" + from.map(fmt).join(",") + ") to (" + to.map(fmt).join(",") +
      ") on the plane, " + STEPS + " equal steps: z_t = (1 - t) z_A + t z_B";
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
    if (state.first === null) { state.first = [a, b]; moveTo(a, b); return; }
    var from = state.first;
    state.first = null;
    interpolate(from, [a, b]);
  }

  // ---- input: pointer (mouse, pen, touch), keys, sliders, digit buttons ------------------------------
  function pointerAB(event) {
    var r = planeCanvas.getBoundingClientRect();
    return fromPixel((event.clientX - r.left) * W / r.width, (event.clientY - r.top) * H / r.height);
  }
  planeCanvas.addEventListener("pointermove", function (event) {
    if (state.animating) return;
    var p = pointerAB(event); moveTo(p[0], p[1]);
  });
  planeCanvas.addEventListener("click", function (event) {
    if (state.animating) return;
    var p = pointerAB(event); mark(p[0], p[1]);
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

  function buildSliders() {
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
          state.onPlane = Z === 2;
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
    for (var d = 0; d < model.n_classes; d++) {
      var button = document.createElement("button");
      button.type = "button"; button.textContent = d; button.id = "digit-" + d;
      button.setAttribute("role", "radio");
      button.style.borderColor = COLOURS[d % 10];
      button.addEventListener("click", (function (d) {
        return function () { selectDigit(d); };
      })(d));
      box.appendChild(button);
    }
  }
  function selectDigit(d) {
    state.digit = d;
    for (var k = 0; k < model.n_classes; k++) $("digit-" + k).setAttribute("aria-checked", String(k === d));
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
  var NAMES = { vae: "VAE", ae: "plain autoencoder (AE)", cvae: "conditional VAE" };
  function describe() {
    $("subtitle").textContent = data.title + ": " + NAMES[model.kind] + ", latent z of " + Z + " dimensions, " +
      (digits.length < data.points.of ? "the first " + digits.length + " of " + data.points.of : digits.length) +
      " test images.";
    var means = model.kind === "ae" ? "codes" : "latent means";
    $("plane-caption").textContent = Z === 2 ?
      "Each dot is the " + (model.kind === "ae" ? "code" : "latent mean") + " of one test image, coloured by its digit." +
        (model.kind === "ae" ? "" : " Dashed circles: ‖z‖ = 1, 2, 3 under the prior N(0, I).") :
      "The plane through the mean of the test " + means + " spanned by their first two principal directions " +
        "(PC1, PC2; it holds " + (100 * plane.variance_held).toFixed(1) + "% of their variance). Each dot is one " +
        "test image's projection; on the plane the other directions are held at the mean.";
    $("plane-title").textContent = Z === 2 ? "The latent plane (z1, z2)" : "The latent space, seen on its PC1-PC2 plane";
    $("slider-caption").textContent = Z === 2 ? "The same two coordinates as the plane." :
      "Move any coordinate; z then leaves the plane (the marker turns grey and shows its projection).";
    $("prior-caption").textContent = model.kind === "ae" ?
      "An AE has no prior: N(0, I) is shown only to compare with a VAE." :
      "p(z) is the density of the prior N(0, I) at z; the KL term of the loss pulls each image's posterior towards it.";
    if (model.kind === "ae") {
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
  buildSliders();
  if (model.kind === "cvae") buildDigitButtons();
  hook.decode = function (z, digit) { return Array.from(decoder.decode(z, digit)); };
  state.digit = model.kind === "cvae" ? 0 : null;
  if (model.kind === "ae") moveTo(ca, cb); else moveTo(0, 0);  // a VAE starts at z = 0, the prior's mode
  if (model.kind === "cvae") selectDigit(0);
  hook.ready = true;
})();
