"""The QR code of a share's link, as SVG (segno: a maintained, dependency-free encoder)."""

from __future__ import annotations

import io

import segno


def qr_svg(url: str, *, scale: int = 4, inline: bool = False) -> str:
    """Error correction "M" (15%: a creased or smudged printout still scans); dark modules in
    black on no background, so it prints on any paper. ``inline``: for an HTML page, no XML
    declaration and a viewBox instead of a size (the page's CSS sizes it)."""
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(
        out, kind="svg", scale=scale, border=2, xmldecl=not inline, svgns=True, nl=False, omitsize=inline
    )
    return out.getvalue().decode()
