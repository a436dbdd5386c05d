"""Figures as inline SVG text, for the HTML report and the dashboard.

Each figure is drawn by a function of :mod:`consilience.report.plots` on a matplotlib
:class:`~matplotlib.figure.Figure` created here (never through ``pyplot``, so nothing is kept in a
global figure manager and rendering works in a web server's threads) and saved as SVG text with
text kept as ``<text>`` elements: no embedded fonts, no external references, selectable labels.
Element ids are salted with the figure's key so that several figures can share one HTML page.

A plot function that is not available yet, or that refuses its input (too few studies for a
funnel, say), gives a :class:`SvgFigure` without SVG and with a note saying why; the caller shows
the note instead of the picture.
"""

from __future__ import annotations

import importlib
import io
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from consilience.errors import ConsilienceError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["PLOT_MODULES", "SvgFigure", "plot_function", "render_svg", "safe_svg", "svg_figure"]

PLOT_MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "forest_plot": ("forest", ()),
    "funnel_plot": ("funnel", ()),
    "cumulative_plot": ("cumulative", ()),
    "baujat_plot": ("baujat", ()),
    "cd_diagram": ("critical_difference", ("critical_difference_plot",)),
    "learning_curve_plot": ("learning_curve", ()),
    "power_curve_plot": ("power", ("power_plot",)),
    "progress_plot": ("progress", ("baseline_progress_plot",)),
}
"""Plot functions used by the report and the dashboard: the module each lives in, and other
names it may be exported under."""

_RENDER_LOCK = threading.Lock()
_SVG_NS = "{http://www.w3.org/2000/svg}"
_FORBIDDEN_TAGS = {"script", "foreignobject", "iframe", "object", "embed"}


@dataclass(frozen=True)
class SvgFigure:
    """A rendered figure, or the reason there is none.

    Attributes
    ----------
    key : str
        Stable identifier (also the salt of the SVG's element ids), e.g. ``forest-random-forest``.
    title : str
        Caption.
    svg : str or None
        The ``<svg>`` element, ready to inline; ``None`` when the figure could not be drawn.
    note : str or None
        Why there is no figure, or a remark shown under it.
    """

    key: str
    title: str
    svg: str | None
    note: str | None = None

    @property
    def available(self) -> bool:
        return self.svg is not None

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "svg": self.svg, "note": self.note}


def plot_function(name: str) -> Callable[..., Any] | None:
    """The plot function ``name`` of :mod:`consilience.report.plots`, or ``None`` if missing.

    Looks at the package's exports first (``name``, then its other names in
    :data:`PLOT_MODULES`), then at the module :data:`PLOT_MODULES` names.
    """
    module_name, aliases = PLOT_MODULES.get(name, ("", ()))
    places = ["consilience.report.plots"]
    if module_name:
        places.append(f"consilience.report.plots.{module_name}")
    for place in places:
        try:
            module = importlib.import_module(place)
        except ImportError:
            continue
        for candidate in (name, *aliases):
            func = getattr(module, candidate, None)
            if callable(func):
                return func  # type: ignore[no-any-return]
    return None


def safe_svg(svg: str) -> bool:
    """Whether ``svg`` parses as one SVG element free of scripts, event handlers and links out.

    Text drawn by matplotlib is XML-escaped, so user strings (task and experiment names) cannot
    become markup; this check makes that a tested property rather than an assumption.
    """
    try:
        root = ET.fromstring(svg)
    except ET.ParseError:
        return False
    if root.tag not in (f"{_SVG_NS}svg", "svg"):
        return False
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1].lower()
        if tag in _FORBIDDEN_TAGS:
            return False
        for attr, value in element.attrib.items():
            name = attr.rsplit("}", 1)[-1].lower()
            if name.startswith("on"):
                return False
            if name == "href" and not value.startswith("#"):
                return False
    return True


def render_svg(
    draw: Callable[[Axes], Any],
    *,
    key: str,
    width: float = 6.4,
    height: float = 4.0,
    rect: tuple[float, float, float, float] = (0.12, 0.14, 0.82, 0.78),
) -> str:
    """Draw on a fresh Axes and return the figure as an inline ``<svg>`` element.

    Parameters
    ----------
    draw : callable
        Called with the Axes; draws on it (a plot function with ``ax=``).
    key : str
        Salt of the element ids, unique within the page the SVG goes into.
    width, height : float
        Figure size in inches before the tight bounding box is applied.
    rect : (left, bottom, width, height)
        Axes position as fractions of the figure; text outside it is kept by the tight box.

    Returns
    -------
    str
        The ``<svg>`` element (no XML declaration), deterministic for the same input.
    """
    import matplotlib
    from matplotlib.figure import Figure

    with _RENDER_LOCK, matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": key}):
        fig = Figure(figsize=(width, height))
        ax = fig.add_axes(rect)
        draw(ax)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.08,
                    metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    start = text.find("<svg")
    svg = text[start:] if start >= 0 else text
    return svg.replace("<svg ", '<svg class="figure" role="img" ', 1).strip()


def svg_figure(
    key: str,
    title: str,
    plot_name: str,
    result: Any,
    *,
    width: float = 6.4,
    height: float = 4.0,
    rect: tuple[float, float, float, float] = (0.12, 0.14, 0.82, 0.78),
    note: str | None = None,
    **options: Any,
) -> SvgFigure:
    """Render ``plot_name(result, ax=..., **options)`` to an :class:`SvgFigure`.

    Parameters
    ----------
    key, title : str
        See :class:`SvgFigure`.
    plot_name : str
        Name of the plot function (see :data:`PLOT_MODULES`).
    result : object
        What the plot function draws.
    width, height, rect :
        See :func:`render_svg`.
    note : str, optional
        Shown under the figure.
    **options
        Keyword options of the plot function.

    Returns
    -------
    SvgFigure
        Without SVG, and a note saying why, when the plot function is not available, refuses
        the input with a documented error, or produced unsafe markup.
    """
    func = plot_function(plot_name)
    if func is None:
        return SvgFigure(key, title, None, f"{title}: not drawn, the plot '{plot_name}' is not "
                                           f"available in this version of consilience.")
    try:
        svg = render_svg(lambda ax: func(result, ax=ax, **options), key=key, width=width,
                         height=height, rect=rect)
    except ImportError as exc:
        return SvgFigure(key, title, None, f"{title}: not drawn ({exc}). Install the plot "
                                           f"extra: pip install 'consilience[plot]'.")
    except (ConsilienceError, TypeError) as exc:
        # The plot refuses this input (too few studies, a result kind it does not draw).
        return SvgFigure(key, title, None, f"{title}: not drawn: {exc}")
    if not safe_svg(svg):
        return SvgFigure(key, title, None, f"{title}: not drawn, the rendered figure did not "
                                           f"pass the markup check.")
    return SvgFigure(key, title, svg, note)
