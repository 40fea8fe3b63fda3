# SPDX-License-Identifier: MIT
"""Figures for ``nncore demo --plot`` and ``nncore train --plot``: the training
loss (and validation score) per epoch and, for a two-dimensional data set,
the decision boundary at a few epochs.

matplotlib is an optional extra (``pip install 'nncore[plot]'``): it is
imported only by the functions below, never when nncore or its command line
is imported. Figures are drawn on a ``matplotlib.figure.Figure`` with the Agg
canvas, not through ``pyplot``, so no global backend or window is touched.
"""
from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt


def _matplotlib() -> tuple[Any, Any, Any]:
    """matplotlib's Agg canvas, Figure and MaxNLocator classes. Imported by
    name, so that type checking does not need matplotlib installed."""
    backend = importlib.import_module("matplotlib.backends.backend_agg")
    figure = importlib.import_module("matplotlib.figure")
    ticker = importlib.import_module("matplotlib.ticker")
    return backend.FigureCanvasAgg, figure.Figure, ticker.MaxNLocator


class PlotError(Exception):
    """A figure cannot be made: matplotlib is missing or the format is unknown."""


def check(path: str) -> None:
    """Fail early, before any training, if ``path`` cannot be drawn to.

    Parameters
    ----------
    path : str
        Where the figure will go; its extension chooses the format (png, pdf,
        svg, ... whatever matplotlib's Agg canvas writes).

    Raises
    ------
    PlotError
        If matplotlib is not installed or does not know the extension.
    """
    try:
        FigureCanvasAgg, Figure, _ = _matplotlib()
    except ImportError as exc:
        raise PlotError(f"--plot needs matplotlib, which is not installed ({exc}); "
                        "pip install 'nncore[plot]' or pip install matplotlib") from exc
    extension = os.path.splitext(path)[1].lstrip(".").lower()
    formats = FigureCanvasAgg(Figure()).get_supported_filetypes()
    if extension not in formats:
        raise PlotError(f"--plot {path}: unknown figure format {extension!r} "
                        f"(use one of {', '.join(sorted(formats))})")


def grid(X: npt.NDArray[Any], steps: int = 150,
         margin: float = 0.5) -> tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]:
    """A regular grid over the bounding box of 2-D points, for boundary plots.

    Parameters
    ----------
    X : ndarray, shape (n_samples, 2)
    steps : int, default 150
        Grid points along each axis.
    margin : float, default 0.5
        Added on every side of the box.

    Returns
    -------
    xx, yy : ndarray, shape (steps, steps)
        Coordinates, as ``numpy.meshgrid`` gives them.
    points : ndarray, shape (steps * steps, 2)
        The same points as rows, ready for ``Network.forward``.
    """
    low = X.min(axis=0) - margin
    high = X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(low[0], high[0], steps),
                         np.linspace(low[1], high[1], steps))
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def training_figure(path: str, losses: Sequence[float], title: str,
                    snapshots: Sequence[tuple[int, Any, float]] = (),
                    X: Any = None, y: Any = None, xx: Any = None, yy: Any = None,
                    validation: tuple[str, Sequence[float]] | None = None) -> None:
    """Write the loss curve and, when given, decision-boundary snapshots.

    Parameters
    ----------
    path : str
        Output file; the format follows the extension (see `check`).
    losses : sequence of float
        Mean training loss of every epoch.
    title : str
        Figure title.
    snapshots : sequence of (epoch, probability, accuracy), optional
        ``probability`` has the shape of ``xx``: the network's probability of
        class 1 at every grid point after ``epoch``; ``accuracy`` is the test
        accuracy then. One panel each, above the loss curve.
    X : ndarray, shape (n_samples, 2), optional
        Points drawn on every snapshot, coloured by ``y``.
    y : ndarray of int, shape (n_samples,), optional
    xx, yy : ndarray, optional
        The grid of the snapshots, from `grid`.
    validation : (metric, scores) or None, optional
        The validation score of every epoch (``nncore train``), drawn on a
        second axis beside the loss; ``metric`` names it.

    Raises
    ------
    PlotError
        If matplotlib is missing (see `check`).
    OSError
        If the file cannot be written.
    """
    check(path)
    FigureCanvasAgg, Figure, MaxNLocator = _matplotlib()

    panels = len(snapshots)
    figure = Figure(figsize=(max(3.2 * panels, 6.4), 6.4 if panels else 3.6),
                    layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(title)
    epochs = np.arange(1, len(losses) + 1)
    if panels:
        layout = figure.add_gridspec(2, panels, height_ratios=[3, 2])
        for column, (epoch, probability, accuracy) in enumerate(snapshots):
            axes = figure.add_subplot(layout[0, column])
            # Filled probability of class 1, the 0.5 contour as the boundary.
            axes.contourf(xx, yy, probability, levels=np.linspace(0, 1, 11),
                          cmap="RdBu_r", alpha=0.6)
            axes.contour(xx, yy, probability, levels=[0.5], colors="black",
                         linewidths=1.5)
            axes.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", vmin=0, vmax=1,
                         s=6, edgecolors="none")
            axes.set_title(f"epoch {epoch}: test accuracy {accuracy:.1%}",
                           fontsize="small")
            axes.set_xticks([])
            axes.set_yticks([])
        loss_axes = figure.add_subplot(layout[1, :])
        for epoch, _, _ in snapshots:
            loss_axes.axvline(epoch, color="grey", linestyle=":", linewidth=1)
    else:
        loss_axes = figure.add_subplot()
    loss_axes.plot(epochs, losses, marker="." if len(losses) < 50 else None)
    loss_axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    loss_axes.set_xlabel("epoch")
    loss_axes.set_ylabel("mean training loss")
    if len(losses) > 1 and min(losses) > 0 and max(losses) / min(losses) > 20:
        loss_axes.set_yscale("log")
    if validation is not None:
        metric, scores = validation
        score_axes = loss_axes.twinx()
        score_axes.plot(np.arange(1, len(scores) + 1), scores, color="tab:orange",
                        marker="." if len(scores) < 50 else None)
        score_axes.set_ylabel(f"validation {metric}", color="tab:orange")
    figure.savefig(path)
