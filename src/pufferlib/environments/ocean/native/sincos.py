"""Float sine and cosine for kernels, bit for bit as the C library computes ``sinf``/``cosf``.

Ports of C games move things along ``cosf(heading)`` and ``sinf(heading)``. Calling the C
library costs two calls per agent per step (Numba cannot inline them, nor vectorize a loop
that makes them). ``sincosf(angle)`` computes the same two floats inline, branch-free, the
way glibc (2.28 and later) computes them: the angle in double precision, reduced by the
nearest multiple of pi/2 (for ``|angle| >= 0.75``), then glibc's minimax polynomials for sine
and cosine on ``[-pi/4, pi/4]``, each ``a + b * c`` a fused multiply-add (glibc's build for
CPUs with FMA, which is the one it runs on them), the result rounded to float. It is valid
for ``|angle| < 120`` (glibc switches to a longer reduction beyond). On this range the test
compares it with the C library's own results, and an exhaustive check over every float in
``[0, 2 pi]`` (the headings the games keep) found them identical.

``libm_sincosf(angle)`` calls the C library's ``sincosf`` itself (for that comparison).
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

# glibc's sincosf data (its __sincosf_table[0]): 2/pi scaled by 2**24, pi/2, and the minimax
# coefficients of cos(x) = c0 + c1 x^2 + ... + c4 x^8 and sin(x) = x + s1 x^3 + s2 x^5 + s3 x^7.
HALF_PI_INV_2_24 = float.fromhex("0x1.45F306DC9C883p+23")
HALF_PI = float.fromhex("0x1.921FB54442D18p0")
C0, C1 = 1.0, float.fromhex("-0x1.ffffffd0c621cp-2")
C2, C3 = float.fromhex("0x1.55553e1068f19p-5"), float.fromhex("-0x1.6c087e89a359dp-10")
C4 = float.fromhex("0x1.99343027bf8c3p-16")
S1, S2 = float.fromhex("-0x1.555545995a603p-3"), float.fromhex("0x1.1107605230bc4p-7")
S3 = float.fromhex("-0x1.994eb3774cf24p-13")
SMALL = 0.75  # glibc compares the top 12 bits of |angle| with pi/4's: |angle| < 0.75
TINY = 2.0**-12  # below it: sin = angle, cos = 1


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` rounded once (LLVM's ``llvm.fma.f64``: one instruction on CPUs with FMA)."""
    if not (a == b == c == types.float64):
        return None

    def codegen(context, builder, sig, args):
        f64 = ir.DoubleType()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(f64, [f64] * 3), "llvm.fma.f64")
        return builder.call(fn, args)

    return types.float64(types.float64, types.float64, types.float64), codegen


@numba.njit(cache=True, inline="always")
def sincosf(angle: np.float32) -> tuple[np.float32, np.float32]:
    """``(sinf(angle), cosf(angle))`` of a float32 ``angle`` with ``|angle| < 120``, as glibc
    computes them (see the module docstring); no calls and no branches, so loops vectorize."""
    x = np.float64(angle)
    magnitude = abs(x)
    # Quadrant n of the nearest multiple of pi/2 (glibc's scaled conversion), and the remainder.
    n = (np.int32(x * HALF_PI_INV_2_24) + np.int32(0x800000)) >> np.int32(24)
    n = np.int32(0) if magnitude < SMALL else n
    r: float = fma(-np.float64(n), HALF_PI, x)  # type: ignore[call-arg]  # (numba intrinsic: typingctx is implicit)
    r = x if magnitude < SMALL else r
    xs = -r if ((n + 1) & 2) != 0 else r  # glibc's sign[n & 3]: -1 in quadrants 1 and 2
    x2 = r * r
    x3 = xs * x2
    sine = fma(x3 * x2, fma(x2, S3, S2), fma(x3, S1, xs))
    x4 = x2 * x2
    cosine = fma(x4 * x2, fma(x2, C4, C3), fma(x4, C2, fma(x2, C1, C0)))
    cosine = -cosine if (n & 2) != 0 else cosine  # glibc's second table: the cosine negated
    odd = (n & 1) != 0
    sin_out = np.float32(cosine if odd else sine)
    cos_out = np.float32(sine if odd else cosine)
    tiny = magnitude < TINY
    return (angle if tiny else sin_out), (np.float32(1.0) if tiny else cos_out)


@intrinsic
def _libm_sincosf(typingctx, angle):
    if angle != types.float32:
        return None
    signature = types.UniTuple(types.float32, 2)(types.float32)

    def codegen(context, builder, sig, args):
        f32 = ir.FloatType()
        fn_type = ir.FunctionType(ir.VoidType(), [f32, f32.as_pointer(), f32.as_pointer()])
        fn = cgutils.get_or_insert_function(builder.module, fn_type, "sincosf")
        sin_ptr = cgutils.alloca_once(builder, f32)
        cos_ptr = cgutils.alloca_once(builder, f32)
        builder.call(fn, [args[0], sin_ptr, cos_ptr])
        return context.make_tuple(builder, sig.return_type, [builder.load(sin_ptr), builder.load(cos_ptr)])

    return signature, codegen


@numba.njit(cache=True, inline="always")
def libm_sincosf(angle: np.float32) -> tuple[np.float32, np.float32]:
    """``(sinf(angle), cosf(angle))`` from the C library's ``sincosf`` (one call)."""
    return _libm_sincosf(angle)  # type: ignore[call-arg]  # (numba intrinsic)
