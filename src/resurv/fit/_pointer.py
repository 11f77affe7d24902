"""A Numba intrinsic turning a memory address (an integer) into a ``void*``.

Defined in a module of its own so that the compiled entry points of
:mod:`resurv.fit.compile` that use it can be cached by Numba.
"""

from numba.core import cgutils, types
from numba.extending import intrinsic

__all__ = ["pointer"]


@intrinsic
def pointer(typingctx, address):
    """``void*`` at ``address`` (a ``uint64``)."""
    sig = types.voidptr(address)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return sig, codegen
