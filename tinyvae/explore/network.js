// The model's two halves in JavaScript, as tinyvae computes them in Python, for one image or one z:
//
//     encode:  h = encoder(x)              Linear/activation layers, or convolutions (conv_vae.py)
//              mu = mean(h)                (z_dim)   the posterior's mean (an AE: its code)
//              logvar = logvar(h)          (z_dim)   log σ² of q(z|x), when the model has a posterior
//     decode:  logits = decoder(z)         (x_dim)
//              x_hat  = sigmoid(logits)    or logits itself for output "identity"
//
// With labels (n_classes > 0) the encoder reads [x, onehot(digit)] and the decoder [z, onehot(digit)].
// Every layer comes from the page's model description (tinyvae/explore/network.py): nothing here
// knows which model it is. Values are held flat, row-major, as Python holds them: an image of C
// channels is C·H·W numbers, channel by channel; W is (out, in) for a Linear, (C_out, C_in, kh, kw)
// for conv2d, (C_in, C_out, kh, kw) for conv_transpose2d. The weights arrive as little-endian float32
// in base64; the sums are done in float64.
//
// Pure functions only: no page, no window. The page calls tinyvaeNetwork.makeNetwork(model);
// tests run this same file in a JavaScript engine and compare with Python.
var tinyvaeNetwork = (function () {
  "use strict";

  var BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

  // base64 text -> bytes (works where atob does not exist, e.g. a bare JavaScript engine)
  function bytesFromBase64(text) {
    var value = {}, i;
    for (i = 0; i < 64; i++) value[BASE64.charAt(i)] = i;
    var clean = text.replace(/=+$/, "");
    var bytes = new Uint8Array(Math.floor(clean.length * 3 / 4));
    var bits = 0, nbits = 0, k = 0;
    for (i = 0; i < clean.length; i++) {
      bits = ((bits << 6) | value[clean.charAt(i)]) & 0xffffff;
      nbits += 6;
      if (nbits >= 8) {
        nbits -= 8;
        bytes[k++] = (bits >> nbits) & 255;
      }
    }
    return bytes;
  }

  // base64 of little-endian float32 -> Float64Array
  function floatsFromBase64(text) {
    var bytes = bytesFromBase64(text);
    var view = new DataView(bytes.buffer);
    var out = new Float64Array(bytes.length / 4);
    for (var i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }

  // out = W x + b, with W (nOut, nIn) row-major
  function linear(L, x) {
    var out = new Float64Array(L.out);
    for (var i = 0; i < L.out; i++) {
      var sum = L.b[i];
      for (var j = 0; j < L["in"]; j++) sum += L.W[i * L["in"] + j] * x[j];
      out[i] = sum;
    }
    return out;
  }

  // the positions y (0 <= y < n) whose s·y + i - top falls inside 0..size-1: [first, last + 1)
  function inside(s, i, top, n, size) {
    var lo = Math.max(0, Math.ceil((top - i) / s)), hi = Math.min(n, Math.floor((size - 1 + top - i) / s) + 1);
    return [lo, Math.max(lo, hi)];
  }

  // conv2d: out[o, y, x] = b[o] + Σ_(c,i,j) W[o, c, i, j] · x[c, s·y + i - top, s·x + j - left]
  // (pixels outside the image are zeros). Loops: one kernel weight at a time over a whole image row.
  function conv2d(L, x) {
    var C = L.in_channels, O = L.out_channels, kh = L.kernel[0], kw = L.kernel[1], sh = L.stride[0], sw = L.stride[1];
    var H = L.in_size[0], Wd = L.in_size[1], Ho = L.out_size[0], Wo = L.out_size[1];
    var out = new Float64Array(O * Ho * Wo);
    for (var o = 0; o < O; o++) {
      for (var p = 0; p < Ho * Wo; p++) out[o * Ho * Wo + p] = L.b[o];
      for (var c = 0; c < C; c++) {
        for (var i = 0; i < kh; i++) {
          var ys = inside(sh, i, L.pad[0], Ho, H);
          for (var j = 0; j < kw; j++) {
            var w = L.W[((o * C + c) * kh + i) * kw + j], xs = inside(sw, j, L.pad[1], Wo, Wd);
            for (var y = ys[0]; y < ys[1]; y++) {
              var row = (o * Ho + y) * Wo, from = (c * H + sh * y + i - L.pad[0]) * Wd + j - L.pad[1];
              for (var xx = xs[0]; xx < xs[1]; xx++) out[row + xx] += w * x[from + sw * xx];
            }
          }
        }
      }
    }
    return out;
  }

  // conv_transpose2d: every input pixel x[c, y, x] adds W[c, o, i, j] · x[c, y, x] onto
  // out[o, s·y + i - top, s·x + j - left] (what falls outside the output is dropped); then + b[o]
  function convTranspose2d(L, x) {
    var C = L.in_channels, O = L.out_channels, kh = L.kernel[0], kw = L.kernel[1], sh = L.stride[0], sw = L.stride[1];
    var H = L.in_size[0], Wd = L.in_size[1], Ho = L.out_size[0], Wo = L.out_size[1];
    var out = new Float64Array(O * Ho * Wo);
    for (var o = 0; o < O; o++) {
      for (var p = 0; p < Ho * Wo; p++) out[o * Ho * Wo + p] = L.b[o];
      for (var c = 0; c < C; c++) {
        for (var i = 0; i < kh; i++) {
          var ys = inside(sh, i, L.pad[0], H, Ho);
          for (var j = 0; j < kw; j++) {
            var w = L.W[((c * O + o) * kh + i) * kw + j], xs = inside(sw, j, L.pad[1], Wd, Wo);
            for (var y = ys[0]; y < ys[1]; y++) {
              var from = (c * H + y) * Wd, to = (o * Ho + sh * y + i - L.pad[0]) * Wo + j - L.pad[1];
              for (var xx = xs[0]; xx < xs[1]; xx++) out[to + sw * xx] += w * x[from + xx];
            }
          }
        }
      }
    }
    return out;
  }

  function sigmoid(v) { return 0.5 * Math.tanh(0.5 * v) + 0.5; }  // as in layers.py: never overflows

  function activation(layer) {
    switch (layer.kind) {
      case "relu": return function (v) { return Math.max(v, 0); };
      case "leaky_relu": return function (v) { return v > 0 ? v : layer.slope * v; };
      case "tanh": return Math.tanh;
      case "sigmoid": return sigmoid;
      case "identity": return function (v) { return v; };
    }
    return null;
  }

  function map(f, x) {
    var out = new Float64Array(x.length);
    for (var i = 0; i < x.length; i++) out[i] = f(x[i]);
    return out;
  }

  var COMPUTE = { linear: linear, conv2d: conv2d, conv_transpose2d: convTranspose2d };

  // one described layer -> a function of a flat Float64Array
  function makeLayer(layer) {
    if (COMPUTE[layer.kind]) {
      var L = {};
      for (var key in layer) if (Object.prototype.hasOwnProperty.call(layer, key)) L[key] = layer[key];
      L.W = floatsFromBase64(layer.W);
      L.b = floatsFromBase64(layer.b);
      return function (x) { return COMPUTE[layer.kind](L, x); };
    }
    if (layer.kind === "reshape" || layer.kind === "flatten") {  // the numbers stay in their order
      return function (x) { return x; };
    }
    var f = activation(layer);
    if (!f) throw new Error("unknown layer " + layer.kind);
    return function (x) { return map(f, x); };
  }

  function chain(layers) {
    var fs = layers.map(makeLayer);
    return function (x) {
      for (var k = 0; k < fs.length; k++) x = fs[k](x);
      return x;
    };
  }

  function checkNumbers(v, n, what, lo, hi) {
    if (!v || v.length !== n) throw new Error(what + " must have " + n + " numbers, got " + (v ? v.length : v));
    for (var i = 0; i < n; i++) {
      if (typeof v[i] !== "number" || !isFinite(v[i]) || v[i] < lo || v[i] > hi) {
        throw new Error(what + "[" + i + "] is not a " + (lo === -Infinity ? "finite number" : "number in [" + lo + ", " + hi + "]"));
      }
    }
  }

  // model: the page's "model" record. Returns {decode(z, digit), encode(x, digit)}.
  function makeNetwork(model) {
    var C = model.n_classes;
    var decoder = chain(model.decoder.layers), encoder = chain(model.encoder.layers);
    var meanHead = makeLayer(model.encoder.mean);
    var logvarHead = model.encoder.logvar ? makeLayer(model.encoder.logvar) : null;
    var out = model.output === "sigmoid" ? sigmoid : function (v) { return v; };

    function withLabel(v, digit) {  // [v, onehot(digit)] for a model with labels; v itself otherwise
      if (C === 0) return Float64Array.from(v);
      if (!(Number.isInteger(digit) && digit >= 0 && digit < C)) {
        throw new Error("this model is conditioned on a digit 0.." + (C - 1) + "; got " + digit);
      }
      var joined = new Float64Array(v.length + C);
      joined.set(v);
      joined[v.length + digit] = 1;
      return joined;
    }

    function decode(z, digit) {  // z (z_dim) -> x_hat (x_dim)
      checkNumbers(z, model.z_dim, "z", -Infinity, Infinity);
      return map(out, decoder(withLabel(z, digit)));
    }

    // x (x_dim, in [0, 1]) -> {mean (z_dim), logvar (z_dim) or null}
    function encode(x, digit) {
      checkNumbers(x, model.x_dim, "the image", 0, 1);
      var h = encoder(withLabel(x, digit));
      return { mean: meanHead(h), logvar: logvarHead ? logvarHead(h) : null };
    }

    return { decode: decode, encode: encode };
  }

  return { makeNetwork: makeNetwork, floatsFromBase64: floatsFromBase64, bytesFromBase64: bytesFromBase64 };
})();
