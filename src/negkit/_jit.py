"""How negkit compiles its numba kernels: every flag that numba would inherit is set explicitly.

numba compiles a function once per argument-type signature and keeps that one overload for
every later caller, in the process and, with ``cache=True``, on disk (the cache index is keyed
by the signature alone).  Four options that a function does not set itself -- ``fastmath``,
``error_model``, ``forceinline`` and ``_nrt`` -- are *inherited* from the function being
compiled when it is first called (``numba.core.cpu.CPUTargetOptions.finalize``).  So a sampler's
draw kernel first reached from a ``fastmath=True`` loop (a benchmark, a trainer) was built with
``nnan``/``ninf``: its ``score == -inf`` test for the pair's positive was folded away, and every
later caller, in that process or in any process that loaded the cache, drew the positive as a
negative (issue #20).

:func:`kernel` is the only way negkit compiles a function: it sets those four options (and
``nogil``) explicitly, so a kernel's code depends on its own decorator alone, never on who
called it first.  ``fastmath`` is off unless a kernel asks for it; kernels that handle
``-inf`` or NaN may ask only for :data:`FAST_FINITE_SAFE`, the fast-math flags that do not
assume finite values (reassociation vectorises a reduction; ``nnan``/``ninf`` are left out).

``inline="always"`` functions are inlined into their caller's numba IR and compiled with the
caller's flags; they are written to be correct under any flags (integer logic, or values that
are finite by construction).

Kernels are cached on disk (``negkit demo`` compiles in about half the time with a warm cache,
``docs/benchmarks.md``), but not by numba's own stamp: numba checks only the file that defines a
kernel, so an edited helper in another file would leave the caller's stale build in place.
negkit's cache stamps every kernel with a digest of the whole package's source
(:func:`package_digest`): any change to negkit's code compiles everything afresh.  With flags
that never depend on the caller, a cached build is exactly what this process would compile.
Closures built at run time (``excluding``, ``per_draw_pair``) and every overload that takes a
compiled function as an argument (the trainers, ``sample()``'s batch loop) are not cached.  The
cache lives in ``NUMBA_CACHE_DIR`` when it is set, else in negkit's user cache folder; where
neither is writable, kernels are compiled without a cache.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from numba import njit, types
from numba.core import caching, config

#: Fast-math flags that keep ``inf`` and NaN meaningful: reassociation (vectorised sums),
#: contraction (fma), reciprocal approximations and signed-zero freedom; not nnan/ninf.
FAST_FINITE_SAFE = frozenset({"reassoc", "contract", "arcp", "nsz", "afn"})

#: Every fast-math flag (as ``fastmath=True``), for a trainer's own float arithmetic on values
#: that are finite by construction; asked for by name, so that a reader sees the promise made.
FAST_ALL = frozenset({"fast"})

#: Options numba inherits from the first caller when a function leaves them unset, with the
#: value negkit gives them instead.
INHERITED_DEFAULTS: dict[str, Any] = {
    "fastmath": False,
    "error_model": "python",
    "forceinline": False,
    "_nrt": True,
}


def kernel(fn: Callable | None = None, /, **options: Any) -> Any:
    """``numba.njit`` with ``nogil=True``, every inherited option set and negkit's disk cache.

    ``kernel(fn)``, ``@kernel`` and ``@kernel(fastmath=FAST_FINITE_SAFE, _nrt=False)`` all
    work; ``cache=False`` compiles in every process.  ``fastmath=True`` is refused: it would
    let the compiler assume no NaN or inf without saying so.
    """
    if options.get("fastmath") is True:
        raise ValueError(
            "kernel(fastmath=True) hides its promise of no NaN or inf; use "
            "fastmath=FAST_FINITE_SAFE, or FAST_ALL for a trainer's own finite arithmetic"
        )
    cache = options.pop("cache", True)
    opts: dict[str, Any] = {"nogil": True, **INHERITED_DEFAULTS, **options}
    if isinstance(opts["fastmath"], frozenset):
        opts["fastmath"] = set(opts["fastmath"])  # numba takes a bool, a dict or a set

    def decorate(f: Callable) -> Any:
        dispatcher = njit(**opts)(f)
        if cache and f.__closure__ is None:
            _cache_by_package(dispatcher)
        return dispatcher

    return decorate if fn is None else decorate(fn)


_PACKAGE = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def package_digest() -> str:
    """sha256 over every ``.py`` file of the negkit package (relative path and bytes)."""
    h = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        h.update(str(path.relative_to(_PACKAGE)).encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def cache_root() -> Path:
    """``NUMBA_CACHE_DIR`` when set, else ``<user cache>/negkit/numba``."""
    if config.CACHE_DIR:
        return Path(config.CACHE_DIR)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("negkit")) / "numba"


class _PackageLocator(caching._CacheLocator):
    """Cache files under :func:`cache_root`, stamped with :func:`package_digest`."""

    def __init__(self, py_func: Callable, py_file: str):
        self._lineno = py_func.__code__.co_firstlineno
        self._path = str(cache_root() / self.get_suitable_cache_subpath(py_file))

    def get_cache_path(self) -> str:
        return self._path

    def get_source_stamp(self) -> str:
        return package_digest()

    def get_disambiguator(self) -> str:
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func: Callable, py_file: str) -> _PackageLocator | None:
        if not os.path.exists(py_file):
            return None
        self = cls(py_func, py_file)
        try:
            self.ensure_cache_path()
        except OSError:
            return None
        return self


class _PackageCacheImpl(caching.CompileResultCacheImpl):
    _locator_classes = [_PackageLocator]


def takes_functions(sig: Any) -> bool:
    """True when a signature has a compiled function among its arguments (a sampler's draw,
    a closure): such overloads are specialised per run-time function and never cached."""
    args = getattr(sig, "args", sig)
    if not isinstance(args, tuple):
        return False
    return any(isinstance(t, (types.Dispatcher, types.FunctionType)) for t in args)


class _PackageFunctionCache(caching.FunctionCache):
    """numba's per-function cache with negkit's locator (see the module docstring).

    Overloads that take compiled functions as arguments (the trainers and ``sample()``'s
    batch loop, specialised per sampler and per run-time closure) are neither saved nor
    loaded: their types name objects of one process, which no index can key safely.
    """

    _impl_class = _PackageCacheImpl

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        if takes_functions(sig):
            return None
        return super().load_overload(sig, target_context)

    def save_overload(self, sig: Any, data: Any) -> None:
        if not takes_functions(sig):
            super().save_overload(sig, data)


def _cache_by_package(dispatcher: Any) -> None:
    try:
        dispatcher._cache = _PackageFunctionCache(dispatcher.py_func)
    except RuntimeError:  # no writable cache folder: compile every time
        pass
