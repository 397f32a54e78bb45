"""How big an architecture is, from its ``config()`` alone (nothing built): its parameter count, and the
limits every door shares, the constructors, the command line and the checkpoint reader
(``training/schema.py`` reads them from here)."""

from __future__ import annotations

from typing import Any

MAX_PARAMS = 50_000_000  # parameters of a model a checkpoint may describe (784-400-20: 0.65 M)
MAX_WIDTH = 1 << 16  # one layer's width, a latent size


def count_params(cfg: dict[str, Any]) -> int:
    """The number of parameters the architecture ``cfg`` has (without building it)."""
    x, z = cfg["x_dim"], cfg["z_dim"]
    if cfg.get("arch") == "conv":
        c1, c2 = cfg.get("channels", [32, 64])
        k, h = cfg.get("kernel_size", 3), cfg.get("hidden_dim", 16)
        flat = c2 * (x // 16)
        convs = (c1 * k * k + c1) + (c2 * c1 * k * k + c2) + (c2 * c2 * k * k + c2) + (c1 * c2 * k * k + c1) + (c1 * k * k + 1)
        return convs + (flat + 1) * h + 2 * (h + 1) * z + (z + 1) * flat
    c = cfg.get("n_classes", 10) if cfg["model"] == "cvae" else 0
    heads = 2 if cfg["model"] != "ae" else 1
    enc = [x + c, *cfg["hidden_dims"]]
    dec = [z + c, *cfg["hidden_dims"][::-1], x]
    n = sum((a + 1) * b for a, b in zip(enc, enc[1:])) + heads * (enc[-1] + 1) * z
    return n + sum((a + 1) * b for a, b in zip(dec, dec[1:]))
