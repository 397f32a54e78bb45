"""What a checkpoint's JSON record and a run folder's ``config.json`` may hold: one schema, checked once.

Nothing read from a file is used before it passes :func:`check_meta` or :func:`check_run_folder_config`:
every value's type (``bool`` is not an int, an int is accepted where a float is), its range, every
string against a closed list, every list's length and every dict's keys. A value outside the schema
raises ``ValueError`` naming the path of the value (``meta.optimizer.betas[1]``), what was expected
and what came. The architecture's parameter count is bounded by :data:`MAX_PARAMS` before any model
is built, so a crafted ``hidden_dims`` cannot ask for terabytes.
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable

from ..engine.optim import check_adam_betas, check_adam_eps
from ..models.base import DTYPES as MODEL_DTYPES
from ..models.ranges import (
    ARCHITECTURE,
    CHOICES,
    MAX_HIDDEN_LAYERS,
    ParameterError,
    Range,
    check_param_count,
    check_rules,
)
from ..models.size import MAX_PARAMS, MAX_WIDTH, count_params  # noqa: F401  (schema.count_params, as read elsewhere)
from .data import BINARIZE_MODES
from .run_values import MAX_THREADS, RUN  # noqa: F401  (schema.MAX_THREADS, as read elsewhere)

MAX_META_BYTES = 8 << 20  # the JSON record itself
BACKENDS = ("numpy", "cupy")
DTYPES = tuple(dt.name for dt in MODEL_DTYPES)  # ("float32", "float64"): what the constructors build

Check = Callable[[Any, str], Any]


def _fail(where: str, want: str, got: Any) -> ValueError:
    shown = repr(got)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return ValueError(f"{where}: expected {want}, got {shown} ({type(got).__name__})")


def Int(lo: int, hi: int) -> Check:
    def check(v: Any, where: str) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise _fail(where, f"an integer in [{lo}, {hi}]", v)
        return v
    return check


def Float(lo: float, hi: float, *, open_lo: bool = False, open_hi: bool = False) -> Check:
    def check(v: Any, where: str) -> float:
        ok = not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
        ok = ok and (v > lo if open_lo else v >= lo) and (v < hi if open_hi else v <= hi)
        if not ok:
            raise _fail(where, f"a finite number in {'(' if open_lo else '['}{lo:g}, {hi:g}{')' if open_hi else ']'}", v)
        return float(v)
    return check


def Str(*choices: str, max_len: int = 4096) -> Check:
    def check(v: Any, where: str) -> str:
        if not isinstance(v, str) or (choices and v not in choices) or len(v) > max_len:
            raise _fail(where, f"one of {list(choices)}" if choices else f"a string of at most {max_len} characters", v)
        return v
    return check


def Choice(name: str) -> Check:
    """One of ``ranges.CHOICES[name]``, the list the constructors check, read when called (never copied)."""
    def check(v: Any, where: str) -> str:
        return Str(*CHOICES[name])(v, where)
    return check


def Engine(check: Callable[[Any], Any]) -> Check:
    """The engine's own ``check`` of a value (Adam's betas), its one-line refusal after the value's path."""
    def checked(v: Any, where: str) -> Any:
        try:
            return check(v)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where}: {e}") from None
    return checked


def Bool(v: Any, where: str) -> bool:
    if not isinstance(v, bool):
        raise _fail(where, "true or false", v)
    return v


def Either(*checks: Check) -> Check:
    """The first of ``checks`` that accepts the value (the last one's message otherwise)."""
    def check(v: Any, where: str) -> Any:
        for c in checks[:-1]:
            try:
                return c(v, where)
            except ValueError:
                pass
        return checks[-1](v, where)
    return check


def Any_(v: Any, where: str) -> Any:  # checked separately (see check_meta)
    return v


def Optional(inner: Check) -> Check:
    def check(v: Any, where: str) -> Any:
        return None if v is None else inner(v, where)
    return check


def List(item: Check, lo: int, hi: int) -> Check:
    def check(v: Any, where: str) -> list:
        if not isinstance(v, list) or not lo <= len(v) <= hi:
            raise _fail(where, f"a list of {lo} to {hi} items", v)
        return [item(x, f"{where}[{i}]") for i, x in enumerate(v)]
    return check


def Dict(required: dict[str, Check], optional: dict[str, Check] | None = None) -> Check:
    """A dict with exactly the ``required`` keys and any of the ``optional`` ones (no others)."""
    optional = optional or {}

    def check(v: Any, where: str) -> dict:
        if not isinstance(v, dict):
            raise _fail(where, "an object {...}", v)
        missing = sorted(set(required) - set(v))
        extra = sorted(set(v) - set(required) - set(optional))
        if missing or extra:
            raise ValueError(f"{where}: " + "; ".join(
                ([f"missing key(s) {missing}"] if missing else []) + ([f"unknown key(s) {extra}"] if extra else [])))
        return {k: {**required, **optional}[k](x, f"{where}.{k}") for k, x in v.items()}
    return check


def Ranged(r: Range) -> Check:
    """The check of a value that ``r`` (a range of ``models/ranges.py`` or ``run_values.py``) allows."""
    return Int(int(r.lo), int(r.hi)) if r.kind is int else Float(r.lo, r.hi, open_lo=r.open_lo)


# ---- the architecture (model.config()): the ranges the constructors check (models/ranges.py) ------
_A = {name: Ranged(r) for name, r in ARCHITECTURE.items()}
_C = {name: Choice(name) for name in CHOICES}  # the closed lists the constructors check (models/ranges.py)
_MLP_COMMON = {"model": _C["model"], "x_dim": _A["x_dim"],
               "hidden_dims": List(_A["hidden_dims"], 1, MAX_HIDDEN_LAYERS), "z_dim": _A["z_dim"],
               "loss": _C["loss"]}
_MLP_OPTIONAL = {"arch": _C["arch"], "beta": _A["beta"], "output": _C["output"],
                 "activation": _C["activation"], "n_classes": _A["n_classes"], "free_bits": _A["free_bits"]}
_CONV = Dict({"model": _C["model"], "arch": Str("conv"), "x_dim": _A["x_dim"], "z_dim": _A["z_dim"],
              "loss": _C["loss"], "beta": _A["beta"]},
             {"channels": List(_A["channels"], 2, 2), "hidden_dim": _A["hidden_dim"], "kernel_size": _A["kernel_size"],
              "free_bits": _A["free_bits"], "padding": _C["padding"]})


# what a record written before a key existed trained with, by arch: the one place that reads such a
# record (a conv model without "padding" is tinyvae's torch-style model, before Keras's "same")
WRITTEN_BEFORE = {"conv": {"padding": "symmetric"}}


def check_architecture_config(cfg: Any, where: str = "architecture") -> dict[str, Any]:
    """``cfg`` checked against the schema of ``model.config()``, the rules between its values
    (``ranges.check_rules``: an ae has no beta, ...), and its size bounded by MAX_PARAMS; a key written
    after the record was comes back as the run trained (:data:`WRITTEN_BEFORE`)."""
    cfg = (_CONV if isinstance(cfg, dict) and cfg.get("arch") == "conv" else Dict(_MLP_COMMON, _MLP_OPTIONAL))(cfg, where)
    cfg = {**WRITTEN_BEFORE.get(cfg.get("arch", "mlp"), {}), **cfg}
    try:
        check_rules(cfg)
        check_param_count(cfg)
    except ParameterError as e:
        raise ValueError(f"{where}: {e}") from None
    return cfg


# ---- the run configuration, the metrics, the optimizer, the generator ----------------------------
_R = {name: Ranged(r) for name, r in RUN.items()}  # the ranges fit checks (run_values.py)
RUN_CONFIG = Dict({}, {
    "epochs": _R["epochs"], "batch_size": _R["batch_size"], "lr": _R["lr"],
    "seed": _R["seed"], "data": Optional(Str()), "data_hash": Optional(Str(max_len=64)),
    "binarize": Optional(Either(Bool, Str(*BINARIZE_MODES))), "backend": Str(*BACKENDS), "dtype": Str(*DTYPES),
    "limit": Optional(_R["limit"]), "threads": _R["threads"], "kl_warmup": _R["kl_warmup"],
})
_NUM = Float(-1e30, 1e30)
_EPOCH = Ranged(RUN["epochs"])  # a metric's epoch, 1 to the most epochs a run has
_METRIC = Dict({"epoch": _EPOCH, "train_loss": _NUM, "test_loss": _NUM, "test_recon": _NUM,
                "test_kl": _NUM, "seconds": Float(0, 1e9)},
               {"train_seconds": Float(0, 1e9), "train_recon": _NUM, "train_kl": _NUM,  # older runs lack these
                "kl_per_dim": List(_NUM, 1, MAX_WIDTH), "active_units": Int(0, MAX_WIDTH)})
_U128 = Int(0, 2**128 - 1)
BIT_GENERATORS = ("PCG64", "PCG64DXSM")  # what default_rng uses, and its variant; no others are read
_RNG = Dict({"bit_generator": Str(*BIT_GENERATORS), "state": Dict({"state": _U128, "inc": _U128}),
             "has_uint32": Int(0, 1), "uinteger": Int(0, 2**32 - 1)})
_OPTIMIZER = Dict({"name": Str("Adam"), "lr": _R["lr"], "t": Int(0, 10**12), "betas": Engine(check_adam_betas),
                   "eps": Any_})  # Adam's own check, against the checkpoint's dtype (check_meta)


def check_meta(meta: Any, where: str = "checkpoint") -> dict[str, Any]:
    """A checkpoint's meta record, every value checked (see the module docstring)."""
    meta = Dict({"format": Str("tinyvae-checkpoint"), "format_version": Int(1, 1 << 30),
                 "architecture": Any_, "dtype": Str(*DTYPES), "epoch": Int(0, int(RUN["epochs"].hi)), "rng_state": _RNG,
                 "optimizer": _OPTIMIZER, "run_config": RUN_CONFIG,
                 "metrics": List(_METRIC, 0, int(RUN["epochs"].hi))})(meta, where)
    meta["architecture"] = check_architecture_config(meta["architecture"], f"{where}.architecture")
    eps = Engine(lambda v: check_adam_eps(v, [meta["dtype"]]))  # Adam's range, in the weights' dtype
    meta["optimizer"]["eps"] = eps(meta["optimizer"]["eps"], f"{where}.optimizer.eps")
    z_dim = meta["architecture"]["z_dim"]
    for i, m in enumerate(meta["metrics"]):  # the latent diagnostics describe this model's z_dim dimensions
        n = len(m.get("kl_per_dim", [0] * z_dim))
        if n != z_dim or m.get("active_units", 0) > z_dim:
            raise ValueError(f"{where}.metrics[{i}]: kl_per_dim has {n} numbers and active_units is "
                             f"{m.get('active_units')}, for a model of z_dim {z_dim}")
    if len(meta["metrics"]) != meta["epoch"] or any(m["epoch"] != i for i, m in enumerate(meta["metrics"], 1)):
        raise ValueError(f"{where}: the metrics record epochs {[m['epoch'] for m in meta['metrics']][:5]}... "
                         f"for a checkpoint of epoch {meta['epoch']}")
    return meta


def check_run_folder_config(obj: Any, where: str = "config.json") -> dict[str, Any]:
    """A run folder's ``config.json``: ``{"model": architecture, "run": run configuration}``."""
    obj = Dict({"model": Any_, "run": RUN_CONFIG})(obj, where)
    obj["model"] = check_architecture_config(obj["model"], f"{where}.model")
    return obj


def parse_json(text: str | bytes, where: str) -> Any:
    """JSON from a file: bounded in size and depth, no NaN or Infinity; ValueError otherwise."""
    if len(text) > MAX_META_BYTES:
        raise ValueError(f"{where}: {len(text):,} bytes of JSON, more than the {MAX_META_BYTES:,} a tinyvae record has")

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a number tinyvae accepts")

    try:
        return json.loads(text, parse_constant=no_constant)
    except RecursionError:
        raise ValueError(f"{where}: JSON nested too deeply to be a tinyvae record") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{where}: not valid JSON ({e})") from None
