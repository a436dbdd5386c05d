"""A :class:`~consilience.report.document.Report` as GitHub-flavoured Markdown, for pull requests.

The same summary, methods and tables as the HTML report; figures are named, not drawn (Markdown
in a pull request cannot carry inline SVG). User strings are escaped so that they cannot open
HTML tags or break a table row.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from consilience.report.document import Report, ReportSection, ReportTable

__all__ = ["md_escape", "render_markdown"]


def md_escape(text: object) -> str:
    """Escape HTML (``<``, ``>``, ``&``), table pipes and line breaks of a user string."""
    value = html.escape(str(text), quote=False)
    return value.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _table(table: ReportTable) -> list[str]:
    columns, rows = table.cells()
    out = [f"**{md_escape(table.title)}**", ""]
    out.append("| " + " | ".join(md_escape(c) for c in columns) + " |")
    out.append("|" + "|".join("---:" if table.frame[c].dtype.kind in "iuf" else "---"
                              for c in table.frame.columns) + "|")
    out += ["| " + " | ".join(md_escape(v) for v in row) + " |" for row in rows]
    if table.note:
        out += ["", f"_{md_escape(table.note)}_"]
    return [*out, ""]


def _section(section: ReportSection, depth: int) -> list[str]:
    out = ["#" * min(depth, 6) + " " + md_escape(section.title), ""]
    for p in section.paragraphs:
        out += [md_escape(p), ""]
    for t in section.tables:
        out += _table(t)
    for f in section.figures:
        if f.available:
            out += [f"_Figure: {md_escape(f.title)} (see the HTML report)._", ""]
        elif f.note:
            out += [f"_{md_escape(f.note)}_", ""]
    for sub in section.subsections:
        out += _section(sub, depth + 1)
    return out


def render_markdown(report: Report) -> str:
    """The report as Markdown.

    Parameters
    ----------
    report : Report

    Returns
    -------
    str
        Title, summary (headline, the leading finding, next steps), methods as a two-column
        table, warnings, then every section with its tables.
    """
    s = report.summary
    generated = report.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    out = [f"# {md_escape(report.title)}", "",
           f"_Generated {generated} with consilience {md_escape(report.provenance.version)}._",
           "", "## Summary", "", f"**{md_escape(s.headline)}**", ""]
    if s.findings:
        out += [" ".join(md_escape(x) for x in s.findings[0].sentences()), ""]
    if s.next_steps:
        out += ["### Next steps", ""] + [f"- {md_escape(x)}" for x in s.next_steps] + [""]
    out += ["## Methods", "", "| item | value |", "|---|---|"]
    out += [f"| {md_escape(k)} | {md_escape(v)} |" for k, v in report.methods]
    out.append("")
    if report.warnings:
        out += ["### Warnings and notes", ""] + [f"- {md_escape(w)}" for w in report.warnings]
        out.append("")
    for section in report.sections:
        out += _section(section, 2)
    return "\n".join(out).rstrip() + "\n"
