"""From data to a trained run folder: loading digits (``data.py``), the training loop (``train.py``),
checkpoints (``checkpoint.py``), held-out evaluation (``evaluate.py``) and the lecture's comparisons
(``compare.py``)."""
