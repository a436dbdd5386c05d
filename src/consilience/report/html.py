"""One self-contained HTML file for a :class:`~consilience.report.document.Report`.

The file needs nothing else: the style sheet is inline, figures are inline SVG, there is no
script, no web font and no link to another server, and a Content-Security-Policy in the head
forbids scripts and network requests should anything slip in. Every string that comes from the
user (experiment, arm and task names, hypotheses, notes) passes through :func:`html.escape`.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from consilience.report.tables import MISSING, NUMERIC_HEADINGS

if TYPE_CHECKING:
    from consilience.report.document import Report, ReportSection, ReportTable
    from consilience.report.figures import SvgFigure

__all__ = ["REPORT_CSS", "render_html", "verdict_class"]

REPORT_CSS = """
:root { --ink:#1a1a1a; --muted:#5f6368; --line:#dadce0; --accent:#1f4e79; --bg:#fff;
  --good:#1e7d32; --warn:#a15c00; --bad:#b3261e; --soft:#f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: var(--bg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
main { max-width: 80rem; margin: 0 auto; padding: 1.5rem 1.5rem 4rem; }
header.top { border-bottom: 3px solid var(--accent); margin-bottom: 1.5rem; }
h1 { font-size: 1.7rem; margin: 0 0 .25rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; border-bottom: 1px solid var(--line);
  padding-bottom: .25rem; }
h3 { font-size: 1.1rem; margin: 1.6rem 0 .4rem; }
p { margin: .4rem 0 .7rem; max-width: 60rem; }
.meta, .note, figcaption { color: var(--muted); font-size: .9rem; }
nav.toc { font-size: .92rem; margin: 0 0 1rem; }
nav.toc a { margin-right: 1rem; color: var(--accent); }
.summary { background: var(--soft); border-left: 4px solid var(--accent);
  padding: .4rem 1.2rem .8rem; border-radius: 4px; }
.summary h2 { margin-top: .6rem; border: none; }
.headline { font-size: 1.08rem; font-weight: 600; }
dl.methods { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1.2rem;
  font-size: .92rem; }
dl.methods dt { font-weight: 600; } dl.methods dd { margin: 0; overflow-wrap: anywhere; }
.table-wrap { overflow-x: auto; margin: .5rem 0 1rem; max-width: 100%; }
table { border-collapse: collapse; font-size: .85rem; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { padding: .3rem .55rem; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
th { background: var(--soft); vertical-align: bottom; }
td.date { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.verdict { display: inline-block; padding: 0 .45rem; border-radius: .7rem; font-size: .8rem;
  border: 1px solid currentColor; white-space: nowrap; }
.v-robust-improvement { color: var(--good); }
.v-improvement-not-general { color: var(--warn); }
.v-regression { color: var(--bad); }
.v-equivalent, .v-inconclusive, .v-not-compared { color: var(--muted); }
figure { margin: 1rem 0; max-width: 100%; overflow-x: auto; }
svg.figure { max-width: 100%; height: auto; display: block; }
details { margin: .6rem 0; border: 1px solid var(--line); border-radius: 4px;
  padding: .2rem .9rem; }
details > summary { cursor: pointer; font-weight: 600; padding: .3rem 0; }
ul.warnings li { color: var(--warn); }
@media print { details { border: none; } nav.toc { display: none; } }
"""
"""The report's style sheet (system fonts only)."""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def verdict_class(verdict: str) -> str:
    """CSS class of a verdict badge: ``v-`` and the verdict in lower-case words and dashes."""
    return "v-" + re.sub(r"[^a-z0-9]+", "-", verdict.lower()).strip("-")


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?$")


def _cell(column: str, text: str, numeric: bool) -> str:
    if column == "verdict" and text != MISSING:
        return f'<td><span class="verdict {verdict_class(text)}">{_e(text)}</span></td>'
    if _DATE.match(text):
        return f'<td class="date">{_e(text)}</td>'
    return f'<td class="num">{_e(text)}</td>' if numeric else f"<td>{_e(text)}</td>"


def _table(table: ReportTable) -> str:
    import pandas as pd

    columns, rows = table.cells()
    numeric = [(pd.api.types.is_numeric_dtype(table.frame[c]) and not
                pd.api.types.is_bool_dtype(table.frame[c])) or str(c) in NUMERIC_HEADINGS
               or str(c).endswith((" CI", " PI")) for c in table.frame.columns]
    head = "".join(f'<th scope="col">{_e(c)}</th>' for c in columns)
    body = "\n".join("<tr>" + "".join(_cell(c, t, n) for c, t, n in zip(columns, row, numeric))
                     + "</tr>" for row in rows)
    note = f'<p class="note">{_e(table.note)}</p>' if table.note else ""
    return (f'<div class="table-wrap"><table><caption>{_e(table.title)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table></div>{note}")


def _figure(fig: SvgFigure) -> str:
    if fig.svg is None:
        return f'<p class="note">{_e(fig.note or fig.title + ": not drawn.")}</p>'
    note = f" {_e(fig.note)}" if fig.note else ""
    # The SVG comes from matplotlib (text XML-escaped) and passed safe_svg(); it is markup.
    return (f'<figure id="fig-{_e(fig.key)}">{fig.svg}<figcaption>{_e(fig.title)}.{note}'
            f"</figcaption></figure>")


def _body(section: ReportSection, depth: int, open_first: bool) -> list[str]:
    parts = [f"<p>{_e(p)}</p>" for p in section.paragraphs]
    parts += [_table(t) for t in section.tables]
    parts += [_figure(f) for f in section.figures]
    for i, sub in enumerate(section.subsections):
        if section.collapsible:
            opened = " open" if (open_first and (i == 0 or not sub.figures)) else ""
            inner = "\n".join(_body(sub, depth + 1, False))
            parts.append(f'<details id="{_e(sub.key)}"{opened}><summary>{_e(sub.title)}'
                         f"</summary>{inner}</details>")
        else:
            parts.append(_section(sub, depth + 1))
    return parts


def _section(section: ReportSection, depth: int, open_first: bool = False) -> str:
    level = min(depth, 4)
    heading = f'<h{level} id="{_e(section.key)}">{_e(section.title)}</h{level}>'
    return "\n".join([heading, *_body(section, depth, open_first)])


def render_html(report: Report) -> str:
    """The report as one HTML document.

    Parameters
    ----------
    report : Report

    Returns
    -------
    str
        ``<!DOCTYPE html>`` document: header, table of contents, executive summary, methods
        with provenance and warnings, then every section. Experiments and candidates with
        figures are collapsible (the first one open).
    """
    s = report.summary
    toc = ['<a href="#summary">Summary</a>', '<a href="#methods">Methods</a>']
    toc += [f'<a href="#{_e(sec.key)}">{_e(sec.title)}</a>' for sec in report.sections]
    first = s.findings[0].sentences() if s.findings else ()
    summary = [f'<p class="headline">{_e(s.headline)}</p>']
    summary += [f"<p>{_e(x)}</p>" for x in first]
    if s.next_steps:
        summary.append("<h3>Next steps</h3><ul>" +
                       "".join(f"<li>{_e(x)}</li>" for x in s.next_steps) + "</ul>")
    methods = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in report.methods)
    warn = ""
    if report.warnings:
        warn = ('<h3>Warnings and notes</h3><ul class="warnings">' +
                "".join(f"<li>{_e(w)}</li>" for w in report.warnings) + "</ul>")
    body = "\n".join(_section(sec, 2, open_first=True) for sec in report.sections)
    generated = report.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="generator" content="consilience {_e(report.provenance.version)}">
<title>{_e(report.title)}</title>
<style>{REPORT_CSS}</style>
</head>
<body>
<main>
<header class="top">
<h1>{_e(report.title)}</h1>
<p class="meta">Generated {_e(generated)} with consilience {_e(report.provenance.version)}.</p>
</header>
<nav class="toc" aria-label="Contents">{" ".join(toc)}</nav>
<section id="summary" class="summary" aria-label="Executive summary">
<h2>Summary</h2>
{"".join(summary)}
</section>
<section aria-labelledby="methods">
<h2 id="methods">Methods</h2>
<dl class="methods">{methods}</dl>
{warn}
</section>
{body}
</main>
</body>
</html>
"""
