"""Sample photos shipped with Lightbox (CC0), for trying ImageNet models without an upload."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from core.data.images import decode_image
from core.errors import UnknownNameError

__all__ = ["SAMPLE_PHOTOS", "sample_photo"]

PHOTOS_DIR = Path(__file__).resolve().parent / "sample_photos"
SAMPLE_PHOTOS: dict[str, str] = {  # file stem -> caption
    "chelsea": "Chelsea the cat",
    "coffee": "A cup of coffee",
}


def sample_photo(name: str) -> Image.Image:
    """Return a bundled sample photo as an RGB image."""
    if name not in SAMPLE_PHOTOS:
        raise UnknownNameError("sample photo", name, list(SAMPLE_PHOTOS))
    return decode_image(PHOTOS_DIR / f"{name}.jpg")
