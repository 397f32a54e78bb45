"""Code that the walkthroughs quote still stands in the source, so the pages cannot drift from it."""

import inspect
import re
from pathlib import Path

from tinyvae import VAE

ROOT = Path(__file__).resolve().parents[1]


def test_backprop_walkthrough_quotes_real_lines():
    page = (ROOT / "walkthroughs" / "05_backprop_vae.md").read_text()
    source = inspect.getsource(VAE.loss_and_grads)
    table = page.split("## Backward, one named gradient at a time", 1)[1].split("\n\n")[1]
    rows = table.splitlines()[2:]  # after the header and the rule
    quoted = [re.findall(r"`([^`]+)`", row.rsplit("|", 2)[-2])[0] for row in rows]
    assert len(quoted) >= 6
    for code in quoted:
        assert code in source, f"walkthroughs/05_backprop_vae.md quotes a line VAE.loss_and_grads no longer has: {code}"


def test_doctests_have_no_number_slack():
    """Doctests compare printed numbers character for character: no NUMBER flag, anywhere."""
    text = (ROOT / "pyproject.toml").read_text()
    flags = re.search(r'doctest_optionflags\s*=\s*"([^"]*)"', text).group(1).split()
    assert "NUMBER" not in flags, flags
    pages = [*(ROOT / "walkthroughs").glob("*.md"), ROOT / "README.md"]
    for page in pages:
        assert "+NUMBER" not in page.read_text(), f"{page.name} turns NUMBER on for a block"
