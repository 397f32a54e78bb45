"""From data to a trained run folder: loading digits (``data.py``), ``fit`` and its options (``train.py``),
its epochs (``loop.py``), checkpoints (``checkpoint.py``), held-out evaluation (``evaluate.py``) and the
lecture's comparisons (``compare.py``)."""
