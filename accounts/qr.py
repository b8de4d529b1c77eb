"""QR codes as inline SVG, drawn on the server: no image service, no CDN, no script."""

import segno


def qr_svg(data: str) -> str:
    """The QR code of `data` as an `<svg>` element to place in a page."""
    return segno.make(data, error="m").svg_inline(scale=5, border=2, dark="#000", light="#fff")
