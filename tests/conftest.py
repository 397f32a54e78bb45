import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/torch_ref.py, tests/builders.py

from builders import TINY, Run, snapshot, train  # noqa: E402


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(autouse=True, scope="session")
def one_blas_thread():
    """One BLAS thread for the suite: the tests' matrices are small, and threads that wait on each
    other on a busy 2-core machine cost far more than they give. (bench/ measures with 2 threads.)"""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(scope="session")
def cli_run(tmp_path_factory):
    """``cli_run(*flags) -> Run``: ``tinyvae train`` with builders.TINY and ``flags`` (later flags win),
    trained once per flag list for the whole session and shared by every test that asks for it.

    The folder is read-only by agreement: a test that writes to it (resume, explore, a crafted file)
    works on ``run.copy_to(tmp_path / ...)``. A shared folder found changed fails the test that asks
    for it next, and the session's end, naming the run."""
    made: dict[tuple[str, ...], tuple[Run, dict]] = {}

    def check(flags: tuple[str, ...]) -> None:
        run, seen = made[flags]
        if snapshot(run.folder) != seen:
            command = " ".join(("tinyvae train", *TINY, *flags))
            pytest.fail(f"the shared run of `{command}` ({run.folder}) was changed by a test; "
                        "a test that writes to a run must write to run.copy_to(tmp_path / ...)")

    def get(*flags: str) -> Run:
        if flags in made:
            check(flags)
        else:
            run = train(flags, tmp_path_factory.mktemp("cli_run") / "run")
            made[flags] = run, snapshot(run.folder)
        return made[flags][0]

    yield get
    for flags in made:
        check(flags)
