"""Country reports: the questions' answers gathered (``content``), charted (``charts``) and laid
out as one self-contained HTML file (``html``)."""

from chokepoints.report.content import ReportContent, gather
from chokepoints.report.html import render_html, write_report

__all__ = ["ReportContent", "gather", "render_html", "write_report"]
