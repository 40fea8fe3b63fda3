# SPDX-License-Identifier: MIT
"""Per-epoch progress for ``fit(..., verbose=True)``: tqdm when installed,
otherwise one plain line per epoch on stderr. Called once per epoch, so it
costs nothing measurable next to an epoch of training."""
from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._typing import EpochInfo


class Progress:
    def __init__(self, epochs: int, file: IO[str] | None = None) -> None:
        self.epochs = epochs
        self.file = file if file is not None else sys.stderr
        try:
            # tqdm has no type hints (types-tqdm has) and may be missing:
            # typed as Any either way.
            from tqdm.auto import tqdm  # type: ignore[import,unused-ignore]
        except ImportError:
            self.bar: Any = None
        else:
            self.bar = tqdm(total=epochs, unit="epoch", file=self.file, leave=True)

    def update(self, info: EpochInfo, extra: str = "") -> None:
        """Report one finished epoch; ``extra`` (a validation score, say) is
        shown after the loss."""
        text = (f"loss {info['loss']:.4g}{', ' + extra if extra else ''}, "
                f"{info['samples_per_second']:,.0f} samples/s")
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(1)
        else:
            print(f"epoch {info['epoch']}/{self.epochs}: {text}", file=self.file,
                  flush=True)

    def note(self, text: str) -> None:
        """A line of its own, printed without breaking the bar."""
        if self.bar is not None:
            self.bar.write(text, file=self.file)
        else:
            print(text, file=self.file, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
