import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/torch_ref.py


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
