"""Bit casts between floats and unsigned integers of their width inside compiled code.

The per-thread contexts (:mod:`negkit._rng`) are ``uint64`` arrays; samplers that keep floats
in their scratch area store the IEEE bit patterns with these casts (``ndarray.view`` inside
a compiled draw builds and checks a new array header on every call: ~50 ns).
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

_LLVM = {
    types.float64: ir.DoubleType(),
    types.uint64: ir.IntType(64),
    types.float32: ir.FloatType(),
    types.uint32: ir.IntType(32),
}


def _bitcast(name: str, src, dst):
    def typer(typingctx, x):
        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], _LLVM[dst])

        return dst(src), codegen

    typer.__name__ = typer.__qualname__ = name
    return intrinsic(typer)


#: float64 -> its 64 bits.
f64_bits = _bitcast("f64_bits", types.float64, types.uint64)
#: 64 bits -> the float64 they encode.
bits_f64 = _bitcast("bits_f64", types.uint64, types.float64)
#: float32 -> its 32 bits.
f32_bits = _bitcast("f32_bits", types.float32, types.uint32)
#: 32 bits -> the float32 they encode.
bits_f32 = _bitcast("bits_f32", types.uint32, types.float32)
