"""The report as a document: its blocks, how values are written into them, and two renderings.

The report's content is a list of blocks (:class:`Heading`, :class:`Para`, :class:`Bullets`,
:class:`Table`, :class:`Image`, :class:`Files`, and the containers :class:`Details` and
:class:`Group`) whose numbers are written with fixed precision by the formatting functions
here, so the same results give the same text. :func:`_to_markdown` and :func:`_to_html` render
one list of blocks to ``report.md`` and to a self-contained HTML page (inline CSS, figures
embedded as base64 data URIs, no scripts, no external links; the only links point to the
results folder's own ``tables/*.csv``). In HTML a :class:`Details` block is a collapsed
``<details>`` element; in Markdown, a level-3 heading followed by its blocks, in the same place.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from resurv.report import plots


# ---------------------------------------------------------------------------- formatting ---
def _g(x, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits; an em dash when missing."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "-"
    x = float(x)
    if x != 0 and (abs(x) >= 10**digits or abs(x) < 1e-3):
        return f"{x:.{digits - 1}e}"
    text = f"{x:.{digits}g}"
    return text


def _interval(median, lower, upper, digits: int = 3) -> str:
    if not np.isfinite(float(lower if lower is not None else np.nan)):
        return _g(median, digits)
    return f"{_g(median, digits)} [{_g(lower, digits)}, {_g(upper, digits)}]"


def _prob(p) -> str:
    if p is None or not np.isfinite(p):
        return "-"
    if p >= 0.9995:
        return "> 0.999"
    if p <= 0.0005:
        return "< 0.001"
    return f"{p:.3f}"


def _percent(x) -> float:
    """Return a survival fraction in [0, 1] as percent."""
    return float(x) * 100.0


def _time(t) -> str:
    """Return a landmark time as the run writes it in quantity names (``4.0`` -> ``"4"``)."""
    return f"{float(t):g}"


def _text(x) -> str:
    """Return a table cell: whole floats without ".0", other floats to 3 significant digits."""
    if isinstance(x, float | np.floating):
        if np.isnan(x):
            return ""
        return f"{int(x)}" if float(x).is_integer() and abs(x) < 1e15 else _g(x)
    return "" if x is None else str(x)


# -------------------------------------------------------------------------------- blocks ---
@dataclass(frozen=True)
class Heading:
    """A section heading of the given level (1 is the page title)."""

    level: int
    text: str


@dataclass(frozen=True)
class Para:
    """A paragraph of plain text."""

    text: str


@dataclass(frozen=True)
class Bullets:
    """A bulleted list."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table of text cells; ``failed_rows`` are marked as failed fits."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    failed_rows: tuple[int, ...] = ()


@dataclass(frozen=True)
class Image:
    """A figure file with its label and caption."""

    file: str  # relative to the results folder, e.g. "figures/survival_curves.png"
    label: str
    caption: str


@dataclass(frozen=True)
class Files:
    """Links to files of the results folder (``tables/sensitivity.csv``), after ``label``."""

    label: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class Details:
    """Blocks shown under a one-line ``summary`` (HTML ``<details>``), collapsed unless ``open``."""

    summary: str
    blocks: tuple
    open: bool = False


@dataclass(frozen=True)
class Group:
    """Blocks laid out together in HTML (``<div class="{css}">``); no mark in Markdown."""

    css: str
    blocks: tuple


def _table(frame: pd.DataFrame, failed_rows=()) -> Table:
    rows = tuple(tuple(_text(v) for v in row) for row in frame.itertuples(index=False))
    return Table(tuple(map(str, frame.columns)), rows, tuple(failed_rows))


# ------------------------------------------------------------------------------ rendering ---
def _md_text(text: str) -> str:
    """Escape what Markdown would read as emphasis or as an HTML tag."""
    return re.sub(r"<(?=[A-Za-z/!?])", r"\\<", text.replace("*", r"\*"))


def _flat(blocks) -> list:
    """Blocks with every :class:`Group` opened (a Markdown page has no layout)."""
    out = []
    for b in blocks:
        out += _flat(b.blocks) if isinstance(b, Group) else [b]
    return out


def _to_markdown(blocks: list) -> str:
    out = []
    for b in _flat(blocks):
        if isinstance(b, Details):
            out.append(_to_markdown([Heading(3, b.summary), *b.blocks]).rstrip("\n"))
        elif isinstance(b, Files):
            links = ", ".join(f"[{_md_text(f)}]({f})" for f in b.files)
            out.append(f"{_md_text(b.label)} {links}")
        elif isinstance(b, Heading):
            out.append(f"{'#' * b.level} {_md_text(b.text)}")
        elif isinstance(b, Para):
            out.append(_md_text(b.text))
        elif isinstance(b, Bullets):
            out.append("\n".join(f"- {_md_text(i)}" for i in b.items))
        elif isinstance(b, Table):

            def row(cells) -> str:
                cells = (_md_text(c).replace("|", r"\|").replace("\n", " ") for c in cells)
                return "| " + " | ".join(cells) + " |"

            lines = [row(b.columns), "|" + "|".join("---" for _ in b.columns) + "|"]
            out.append("\n".join(lines + [row(r) for r in b.rows]))
        elif isinstance(b, Image):
            out.append(
                f"![{_md_text(b.label)}]({b.file})\n\n**{_md_text(b.label)}** {_md_text(b.caption)}"
            )
    return "\n\n".join(out) + "\n"


_CSS = """
* { box-sizing: border-box; }
body { margin: 0; background: #fafafa; color: #1d1d1f; font-size: 16px; line-height: 1.55;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 76rem; margin: 0 auto; padding: 1rem 1.5rem 4rem; background: #fff;
  overflow-wrap: break-word; }
h1 { font-size: 1.5rem; line-height: 1.25; margin: 0 0 .3rem; }
h1 + p { font-size: .88rem; color: #444; margin: 0; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; padding-bottom: .25rem;
  border-bottom: 2px solid #0072B2; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
p, li { max-width: 52rem; }
.lede { display: grid; grid-template-columns: minmax(19rem, 2fr) 3fr; gap: 0 2rem;
  align-items: start; }
.lede > h2 { grid-column: 1 / -1; margin-top: .9rem; }
.lede > p { margin-top: 0; line-height: 1.5; }
.lede > figure { margin-top: 0; }
.lede > figure + figure { grid-column: 1 / -1; }
@media (max-width: 60rem) { .lede { display: block; } }
.table-wrap { max-width: 100%; overflow-x: auto; margin: .8rem 0 1.2rem; }
table { border-collapse: collapse; font-size: .86rem; }
th, td { border: 1px solid #d0d7de; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #eef3f8; font-weight: 600; }
tbody tr:nth-child(even) { background: #f6f8fa; }
tr.failed td { background: #fdecea; }
.failed { color: #a03000; font-weight: 600; }
figure { margin: 1.2rem 0 2rem; max-width: 100%; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #e1e4e8; }
figcaption { font-size: .88rem; color: #444; max-width: 52rem; margin-top: .4rem; }
details { margin: .8rem 0 1.2rem; border: 1px solid #d0d7de; border-radius: 4px;
  padding: .3rem .8rem; }
details > summary { cursor: pointer; font-weight: 600; }
details[open] > summary { margin-bottom: .4rem; }
p.files { font-size: .9rem; }
"""


def _html_text(text: str) -> str:
    escaped = html.escape(text, quote=False)
    mark = html.escape(plots.FAILED_MARK, quote=False)
    return escaped.replace(mark, f'<span class="failed">{mark}</span>')


def _cell_html(text: str) -> str:
    """A table cell: long identifiers (``survival_4y_not_resected``) may break after "_"."""
    return _html_text(text).replace("_", "_<wbr>")


def _html_blocks(blocks, folder: Path) -> list[str]:
    body = []
    for b in blocks:
        if isinstance(b, Group):
            inner = "\n".join(_html_blocks(b.blocks, folder))
            body.append(f'<div class="{html.escape(b.css)}">\n{inner}\n</div>')
        elif isinstance(b, Details):
            inner = "\n".join(_html_blocks(b.blocks, folder))
            tag = "<details open>" if b.open else "<details>"
            body.append(f"{tag}<summary>{_html_text(b.summary)}</summary>\n{inner}\n</details>")
        elif isinstance(b, Files):
            links = ", ".join(f'<a href="{html.escape(f)}">{_html_text(f)}</a>' for f in b.files)
            body.append(f'<p class="files">{_html_text(b.label)} {links}</p>')
        elif isinstance(b, Heading):
            body.append(f"<h{b.level}>{_html_text(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            body.append(f"<p>{_html_text(b.text)}</p>")
        elif isinstance(b, Bullets):
            items = "".join(f"<li>{_html_text(i)}</li>" for i in b.items)
            body.append(f"<ul>{items}</ul>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{_cell_html(c)}</th>" for c in b.columns)
            rows = []
            for i, row in enumerate(b.rows):
                cls = ' class="failed"' if i in b.failed_rows else ""
                cells = "".join(f"<td>{_cell_html(c)}</td>" for c in row)
                rows.append(f"<tr{cls}>{cells}</tr>")
            body.append(
                f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
                f"<tbody>{''.join(rows)}</tbody></table></div>"
            )
        elif isinstance(b, Image):
            png = (folder / b.file).read_bytes()
            data = base64.b64encode(png).decode("ascii")
            width, height = (int.from_bytes(png[i : i + 4], "big") for i in (16, 20))  # IHDR
            body.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(b.label)}" '
                f'width="{width}" height="{height}">'
                f"<figcaption><strong>{_html_text(b.label)}</strong> {_html_text(b.caption)}"
                "</figcaption></figure>"
            )
    return body


def _to_html(blocks: list, folder: Path, title: str) -> str:
    body = _html_blocks(blocks, folder)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )
