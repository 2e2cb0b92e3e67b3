"""Names that Markdown or HTML would turn into links, images or styles: what the markup tests push through."""

from __future__ import annotations

from core import ImageDataset, load_dataset

EVIL_CLASSES = (
    "![x](http://127.0.0.1:9/pixel.png)",
    "[click me](http://127.0.0.1:9/)",
    "<img src=x onerror=alert(1)>",
    "**bold** :red[x]",
)
EVIL_RUN = "[run link](http://127.0.0.1:9/)"
DATASET = "evil-names"


def evil_dataset() -> ImageDataset:
    """Four digit classes (60 images) renamed to Markdown and HTML that would fetch, link or style."""
    digits = load_dataset("digits")
    keep = (digits.labels < len(EVIL_CLASSES)).nonzero().flatten()[:60]
    part = digits.subset(keep)
    return ImageDataset(DATASET, part.images, part.labels, EVIL_CLASSES, dark_background=True)
