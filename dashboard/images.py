"""Small PIL helpers for showing images large and crisp."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image


def enlarge(image: Image.Image, scale: int) -> Image.Image:
    """Scale up by a whole factor with square pixels, so tiny images stay honest."""
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)


def contact_strip(images: Sequence[Image.Image], scale: int, gap: int = 4) -> Image.Image:
    """Put images side by side, enlarged, on a white strip: one picture instead of many."""
    tiles = [enlarge(im.convert("RGB"), scale) for im in images]
    width = sum(t.width for t in tiles) + gap * (len(tiles) - 1)
    strip = Image.new("RGB", (width, max(t.height for t in tiles)), "white")
    x = 0
    for tile in tiles:
        strip.paste(tile, (x, 0))
        x += tile.width + gap
    return strip
