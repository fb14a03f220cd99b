"""Hover numbers: a tooltip (an SVG ``<title>``) on each dot, bar, cell or line of a matplotlib
figure, in the SVG that matplotlib's own SVG backend writes, text kept as text.

    >>> titled(ax.collections[0], ["trial #0: 0.31 (linear)", ...])  # a title an element, in order
    >>> titled(line, "best so far")                                  # one title, the whole artist
    >>> markup = svg_bytes(fig, salt="history")

As matplotlib's "SVG tooltip" example does, each titled artist is given a ``gid``, the SVG is
written, and the element of that id (or each of its children, one per point, bar or cell of a
collection) gets its ``<title>``. A figure drawn in a notebook keeps its titles until it is let go;
they cost nothing unless it is written here.
"""

from __future__ import annotations

import io
import logging
import weakref
from typing import Sequence
from xml.etree import ElementTree

logger = logging.getLogger(__name__)

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
_TITLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Artist -> its title, or one title per element of a collection (in the order it draws them)."""


def titled(artist, titles: str | Sequence[str]):
    """Give ``artist`` a tooltip: one ``titles`` string, or a sequence of one per element of a
    collection (a scatter's dots, a heatmap's cells, in the order they were given to it). Returns
    the artist."""
    _TITLES[artist] = titles if isinstance(titles, str) else list(titles)
    return artist


def svg_bytes(fig, salt: str) -> bytes:
    """``fig`` drawn once by matplotlib's SVG backend, its artists' titles added: UTF-8 SVG, without
    the XML declaration, ready to inline in HTML or to save as a ``.svg`` file.

    The caller sets the rcParams the drawing needs (``svg.fonttype: none`` keeps text as text);
    ``salt`` makes the ids of clip paths and markers (hashes of their content) differ from those of
    the page's other figures, and the same on every run. Group ids, which nothing refers to, are
    dropped so that no id repeats in a page.
    """
    import matplotlib as mpl
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    found = [
        a for a in list(_TITLES) if _root(a) is fig
    ]  # not fig.findobj: it makes every axis's ticks
    for i, artist in enumerate(found):
        artist.set_gid(f"hover-{i}")
    buffer = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": salt}):
        # print_svg draws once; savefig would draw a figure with a layout engine twice
        FigureCanvasSVG(fig).print_svg(buffer, metadata={"Date": None})
    root = ElementTree.fromstring(buffer.getvalue())
    by_id = {
        g.get("id"): g for g in root.iter(f"{{{SVG_NS}}}g") if g.get("id", "").startswith("hover-")
    }
    for i, artist in enumerate(found):
        group = by_id.get(f"hover-{i}")
        if group is not None:
            _add_titles(group, _TITLES[artist], salt)
    for parent in root.iter():
        for child in list(parent):
            if child.tag == f"{{{SVG_NS}}}metadata":
                parent.remove(child)
            elif child.tag == f"{{{SVG_NS}}}g":
                child.attrib.pop("id", None)
    ElementTree.register_namespace("", SVG_NS)
    # inline SVG in HTML knows this prefix, and no other
    ElementTree.register_namespace("xlink", XLINK_NS)
    return ElementTree.tostring(root, encoding="unicode").encode()


def _root(artist):
    """The figure an artist is drawn in (None for one not in a figure)."""
    figure = artist.figure
    return figure if figure is None else figure.get_figure(root=True)


def _add_titles(group, titles: str | list[str], salt: str) -> None:
    """A ``<title>`` for the artist's group, or one for each element it drew (its children outside
    ``<defs>``)."""
    if isinstance(titles, str):
        _title(group, titles)
        return
    elements = [child for child in group if child.tag != f"{{{SVG_NS}}}defs"]
    if len(elements) == 1 and len(titles) > 1 and elements[0].tag == f"{{{SVG_NS}}}g":
        # a collection of one colour, clipped: matplotlib draws its elements in one group of
        # their own, under the clip path
        elements = list(elements[0])
    if len(elements) != len(titles):
        logger.warning(
            "figure %s: %d elements drawn, %d titles; titles left out",
            salt,
            len(elements),
            len(titles),
        )
        return
    for element, text in zip(elements, titles):
        _title(element, text)


def _title(element, text: str) -> None:
    title = ElementTree.Element(f"{{{SVG_NS}}}title")
    title.text = text
    element.insert(0, title)
