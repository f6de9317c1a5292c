"""A sampler draws from its law whatever ran before it, in any process, with any cache (#20).

The subprocess test replays the order users create: a benchmark or trainer compiles the
kernels first (``tests/_kernel_order.py prime``), then a later process with the same numba
cache directory compiles them again and checks the laws with the pair's positive given
(``prime check``: the in-process order as well).  The other tests pin down the mechanism's
root: every negkit kernel sets the options numba would otherwise inherit from its first
caller, and its disk cache is stamped with the whole package's source.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numba.core.registry import CPUDispatcher

import negkit
import negkit.samplers as ns
from negkit import _jit
from negkit._jit import INHERITED_DEFAULTS, _PackageFunctionCache, kernel

HERE = Path(__file__).parent
#: The modules whose own arithmetic may assume finite values (fastmath=FAST_ALL).
TRAINERS = ("negkit.word2vec.kernels_", "negkit.graph.line", "negkit.rec.mf_bpr")
SRC = Path(negkit.__file__).parent


def _run(args, env):
    return subprocess.run(
        [sys.executable, str(HERE / "_kernel_order.py"), *args],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_laws_hold_after_a_benchmark_and_a_trainer_compiled_the_kernels(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    first = _run(["prime"], env)
    assert first.returncode == 0, first.stderr[-3000:]
    second = _run(["prime", "check"], env)
    assert second.returncode == 0, second.stdout + second.stderr[-3000:]
    assert second.stdout.startswith("OK"), second.stdout
    hits = int(re.search(r"cache hits: (\d+)", second.stderr).group(1))
    assert hits > 0  # the second process did load the first one's builds


def test_the_order_test_covers_every_sampler_that_takes_a_positive():
    sys.path.insert(0, str(HERE))
    from _kernel_order import LAW_SAMPLERS

    takes = {n for n in ns.available() if ns.get_class(n).uses_positive}
    assert set(LAW_SAMPLERS) == takes


def _dispatchers():
    for info in pkgutil.walk_packages([str(SRC)], prefix="negkit."):
        if info.name.endswith("__main__") or info.name.startswith(("negkit.cli", "negkit.study")):
            continue  # no kernels there; keeps matplotlib out of the import
        mod = importlib.import_module(info.name)
        for name, obj in vars(mod).items():
            if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == info.name:
                yield f"{info.name}.{name}", obj


def test_every_kernel_sets_what_numba_would_inherit_and_is_cached_by_package_digest():
    found = dict(_dispatchers())
    assert len(found) > 40  # the walk did reach the kernels
    for name, d in found.items():
        missing = [k for k in INHERITED_DEFAULTS if k not in d.targetoptions]
        assert not missing, f"{name} leaves {missing} to its first caller"
        fm = d.targetoptions["fastmath"]
        assumes_finite = fm is True or bool({"fast", "nnan", "ninf"} & set(fm or ()))
        assert not assumes_finite or name.startswith(TRAINERS), (
            f"{name}: fast-math that assumes no NaN or inf outside a trainer"
        )
        assert isinstance(d._cache, _PackageFunctionCache), f"{name}: numba's own cache stamp"


def test_no_module_compiles_outside_negkit_jit():
    for path in SRC.rglob("*.py"):
        if path.name == "_jit.py":
            continue
        text = path.read_text()
        assert not re.search(r"\bnjit\b|numba\.jit|cache=True", text), path


def test_any_change_to_the_package_changes_every_kernels_stamp(tmp_path, monkeypatch):
    """numba stamps a cached kernel by its own file; negkit by the whole package, so a
    changed helper in another file cannot leave a stale caller behind."""
    import shutil

    from negkit.samplers.rank import draw_rank

    copy = tmp_path / "negkit"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(_jit, "_PACKAGE", copy)
    _jit.package_digest.cache_clear()
    try:
        before = _jit.package_digest()
        helper = copy / "samplers" / "_kernels.py"
        helper.write_text(helper.read_text() + "\n# an edit\n")
        _jit.package_digest.cache_clear()
        assert _jit.package_digest() != before
    finally:
        monkeypatch.undo()
        _jit.package_digest.cache_clear()
    locator = draw_rank._cache._impl.locator
    assert locator.get_source_stamp() == _jit.package_digest()


def test_overloads_that_take_compiled_functions_are_never_cached(tmp_path, monkeypatch):
    """A trainer or batch loop specialised on a run-time closure must not reach the index."""
    from numba import typeof

    from negkit.samplers.base import _sample_batch, per_draw_pair
    from negkit.samplers.uniform import draw_uniform

    pair = per_draw_pair(draw_uniform)
    sig = (typeof(pair), typeof((np.int64(3),)))
    assert _jit.takes_functions(sig) and not _jit.takes_functions(sig[1:])
    monkeypatch.setattr(_jit.config, "CACHE_DIR", str(tmp_path))
    cache = _PackageFunctionCache(_sample_batch.py_func)
    cache.save_overload(sig, object())  # would fail to pickle if it were written
    assert not list(tmp_path.rglob("*.nbi"))
    assert cache.load_overload(sig, None) is None


def test_kernel_refuses_an_unnamed_fastmath_and_closures_stay_uncached():
    with pytest.raises(ValueError, match="FAST_FINITE_SAFE"):
        kernel(fastmath=True)
    from negkit.samplers.base import excluding
    from negkit.samplers.uniform import draw_uniform

    assert type(excluding(draw_uniform)._cache).__name__ == "NullCache"
