"""Mixed precision (skmemo._precision)."""

import numpy as np
import pytest
import torch

from .conftest import small_clf


# ----------------------------------------------------------------------
# mixed precision on the CPU
# ----------------------------------------------------------------------
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_runs_on_cpu(data, precision):
    X, Y = data
    clf = small_clf(max_epochs=1, precision=precision).fit(X, Y)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    seen = []
    hook = clf.module_.register_forward_hook(
        lambda m, args, out: seen.append(torch.get_autocast_dtype("cpu")
                                         if torch.is_autocast_enabled("cpu") else None))
    proba = clf.predict_proba(X)
    hook.remove()
    assert seen and set(seen) == {dtype}  # the forward pass ran under autocast
    assert proba.dtype == np.float64 and np.isfinite(proba).all()
    full = small_clf(max_epochs=1).fit(X, Y).predict_proba(X)
    assert not np.array_equal(proba, full)  # reduced precision changes the numbers


def test_bad_precision(data):
    X, Y = data
    with pytest.raises(ValueError, match="precision must be one of"):
        small_clf(precision="int8").fit(X, Y)
