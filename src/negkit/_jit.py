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

No kernel is cached on disk (``cache=False``): numba's index does not track a kernel's callees,
so a changed helper in another file can leave a stale kernel behind, and the seconds saved are
few (``docs/architecture.md``, "Compilation").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from numba import njit

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
    """``numba.njit`` with ``nogil=True`` and every inherited option set (see the module).

    ``kernel(fn)``, ``@kernel`` and ``@kernel(fastmath=FAST_FINITE_SAFE, _nrt=False)`` all
    work.  ``fastmath=True`` is refused: it would let the compiler assume no NaN or inf.
    """
    if options.get("fastmath") is True:
        raise ValueError(
            "kernel(fastmath=True) hides its promise of no NaN or inf; use "
            "fastmath=FAST_FINITE_SAFE, or FAST_ALL for a trainer's own finite arithmetic"
        )
    if options.get("cache"):
        raise ValueError("negkit kernels are not cached on disk (see negkit._jit)")
    opts: dict[str, Any] = {"nogil": True, **INHERITED_DEFAULTS, **options}
    if isinstance(opts["fastmath"], frozenset):
        opts["fastmath"] = set(opts["fastmath"])  # numba takes a bool, a dict or a set
    decorate = njit(**opts)
    return decorate if fn is None else decorate(fn)
