"""The data model: pure numpy/pandas, the bottom layer of tokenheat.

:class:`TokenMatrix` (values over labelled rows and columns, with counts, cell text, extras
and contexts), :class:`Corpus` (the tokenized texts contexts point into), :class:`Contexts`
(what a click on a cell lists) and :class:`ColorScale`. Nothing here imports torch, the
widget or the exports; the one way up is the display hook in :mod:`tokenheat.core._hook`.
"""

from __future__ import annotations

from tokenheat.core._contexts import Contexts
from tokenheat.core._corpus import Corpus
from tokenheat.core._display import Display, Group
from tokenheat.core._matrix import TokenMatrix
from tokenheat.core._scale import ColorScale

__all__ = ["ColorScale", "Contexts", "Corpus", "Display", "Group", "TokenMatrix"]
