// The decoder's forward pass, as tinyvae/models/vae.py computes it, for one latent vector z:
//
//     h      = relu(W1 z + b1)          (hidden)      one Linear and its activation per hidden layer
//     logits = W2 h + b2                (784)
//     x_hat  = sigmoid(logits)          (784)         or logits itself for output "identity"
//
// A conditional VAE decodes [z, onehot(digit)] instead of z. W is stored as in Python,
// (out, in) row-major, so W z is out[i] = sum_j W[i][j] z[j]. The weights arrive as little-endian
// float32 in base64; the sums are done in float64.
//
// Pure functions only: no page, no window. The page calls tinyvaeDecoder.makeDecoder(model);
// tests run this same file in a JavaScript engine and compare with Python.
var tinyvaeDecoder = (function () {
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
      bits = (bits << 6) | value[clean.charAt(i)];
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
  function linear(W, b, x, nOut, nIn) {
    var out = new Float64Array(nOut);
    for (var i = 0; i < nOut; i++) {
      var sum = b[i];
      for (var j = 0; j < nIn; j++) sum += W[i * nIn + j] * x[j];
      out[i] = sum;
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
    throw new Error("unknown decoder layer " + layer.kind);
  }

  function map(f, x) {
    var out = new Float64Array(x.length);
    for (var i = 0; i < x.length; i++) out[i] = f(x[i]);
    return out;
  }

  // model: the page's "model" record. Returns {decode(z, digit) -> Float64Array (x_dim)}.
  function makeDecoder(model) {
    var layers = model.layers.map(function (layer) {
      if (layer.kind !== "linear") return { kind: layer.kind, f: activation(layer) };
      return { kind: "linear", W: floatsFromBase64(layer.W), b: floatsFromBase64(layer.b),
               nIn: layer["in"], nOut: layer.out };
    });
    var out = model.output === "sigmoid" ? sigmoid : function (v) { return v; };
    var conditional = model.kind === "cvae";

    function input(z, digit) {
      if (z.length !== model.z_dim) throw new Error("z must have " + model.z_dim + " numbers, got " + z.length);
      for (var i = 0; i < z.length; i++) {
        if (typeof z[i] !== "number" || !isFinite(z[i])) throw new Error("z[" + i + "] is not a finite number");
      }
      if (!conditional) return Float64Array.from(z);
      if (!(Number.isInteger(digit) && digit >= 0 && digit < model.n_classes)) {
        throw new Error("a conditional VAE needs a digit 0.." + (model.n_classes - 1) + ", got " + digit);
      }
      var zc = new Float64Array(model.z_dim + model.n_classes);  // [z, onehot(digit)]
      zc.set(z);
      zc[model.z_dim + digit] = 1;
      return zc;
    }

    function decode(z, digit) {
      var h = input(z, digit);
      for (var k = 0; k < layers.length; k++) {
        var layer = layers[k];
        h = layer.kind === "linear" ? linear(layer.W, layer.b, h, layer.nOut, layer.nIn) : map(layer.f, h);
      }
      return map(out, h);  // x_hat
    }

    return { decode: decode };
  }

  return { makeDecoder: makeDecoder, floatsFromBase64: floatsFromBase64 };
})();
