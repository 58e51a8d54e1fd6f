"""What the stack's configuration flags accept, checked before anything is imported or built.

``--N``, ``--gridsize``, ``--batch`` (and trace's ``--filters``) are positive integers. ``--max-offset``
is a finite number of pixels within ``[0, MAX_OFFSET_PER_N * N]``: the canvas side is
``M = N + 2*ceil(max-offset)``, so the bound keeps ``M <= 9*N``; an offset of 4 patch widths from a
group's centre is far past any overlap of the group's patches, and ``--max-offset 1e6`` at N=64 would
ask for canvases of 931 TiB. ``trace`` and ``doctor`` also refuse a configuration whose largest
tensor alone, the ``(B*C, M, M, 1)`` complex64 canvases the extraction repeats per patch, would not
fit in this machine's memory. Every refusal is a ``ValueError`` naming the flag, the value received
and what is expected; nothing here imports TensorFlow or the ``ptycho`` stack.
"""

from __future__ import annotations

import math
import os

MAX_OFFSET_PER_N = 4  # --max-offset <= 4*N, so the canvas side M <= 9*N
COMPLEX64_BYTES = 8

_WHAT = {
    "--N": "the patch side in pixels",
    "--gridsize": "patches per group side, C = g*g",
    "--batch": "groups per batch, B",
    "--filters": "n_filters_scale of the network",
}


def check_positive(flag: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"{flag} must be a positive integer ({_WHAT.get(flag, 'a count')}); got {value}")


def canvas_side(N: int, max_offset: float) -> int:
    """``M = N + 2*ceil(max_offset)``, rounded up to even (``ModelConfig.padded_size``)."""
    m = N + 2 * math.ceil(max_offset)
    return m + (m % 2)


def check_max_offset(max_offset: float, N: int, batch: int = 1) -> None:
    bound = MAX_OFFSET_PER_N * N
    if math.isfinite(max_offset) and 0 <= max_offset <= bound:
        return
    implied = ""
    if math.isfinite(max_offset) and max_offset > bound:
        m = canvas_side(N, max_offset)
        canvases = bytes_text(COMPLEX64_BYTES * batch * m * m)
        implied = f", which makes M = {m}: {canvases} for the B={batch} complex64 canvases alone"
    raise ValueError(
        f"--max-offset must be a finite number of pixels within [0, 4*N] = [0, {bound}] for --N {N} "
        f"(the canvas side M = N + 2*ceil(max-offset) at most 9*N = {9 * N}); got {max_offset:g}{implied}"
    )


def check_ptycho_flags(N: int, gridsize: int, batch: int, max_offset: float) -> None:
    """The flags that name the stack's dims (explain's ptycho preset, trace, doctor)."""
    for flag, value in (("--N", N), ("--gridsize", gridsize), ("--batch", batch)):
        check_positive(flag, value)
    check_max_offset(max_offset, N, batch)


def largest_tensor_bytes(N: int, gridsize: int, batch: int, max_offset: float) -> int:
    """Bytes of one ``(B*C, M, M, 1)`` complex64 tensor: the canvases repeated once per patch."""
    m = canvas_side(N, max_offset)
    return COMPLEX64_BYTES * batch * gridsize * gridsize * m * m


def physical_memory() -> int | None:
    """This machine's memory in bytes, or None where the platform does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def bytes_text(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024:
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"


def check_memory(N: int, gridsize: int, batch: int, max_offset: float, memory: int | None = None) -> None:
    """Refuse a configuration whose largest tensor alone exceeds ``memory`` (default: this machine's)."""
    memory = physical_memory() if memory is None else memory
    need = largest_tensor_bytes(N, gridsize, batch, max_offset)
    if memory is None or need <= memory:
        return
    c, m = gridsize * gridsize, canvas_side(N, max_offset)
    raise ValueError(
        f"--batch {batch} with --N {N} --gridsize {gridsize} --max-offset {max_offset:g} does not fit: one "
        f"(B*C, M, M, 1) = ({batch * c}, {m}, {m}, 1) complex64 tensor alone takes {bytes_text(need)}, more "
        f"than this machine's {bytes_text(memory)} of memory; expected a configuration whose tensors fit "
        "(lower --batch, --N or --max-offset)"
    )


def check_stack_config(
    N: int, gridsize: int, batch: int, max_offset: float, filters: int | None = None
) -> None:
    """trace's and doctor's flags, before TensorFlow is imported: each in range, then the memory."""
    check_ptycho_flags(N, gridsize, batch, max_offset)
    if filters is not None:
        check_positive("--filters", filters)
    check_memory(N, gridsize, batch, max_offset)
