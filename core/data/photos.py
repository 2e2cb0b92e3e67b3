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


# scikit-image's bundled photos (no download) of objects ImageNet knows, beside our own two.
CHECK_PHOTOS = ("astronaut", "rocket", "stereo_motorcycle", "camera")


def _skimage_photos(names: tuple[str, ...]) -> list[Image.Image]:
    """Return those scikit-image sample photos that are installed, as RGB images (none without skimage)."""
    try:
        from skimage import data
    except ImportError:
        return []
    photos = []
    for name in names:
        array = getattr(data, name)()
        array = array[0] if isinstance(array, tuple) else array  # stereo pairs: the left view
        photos.append(Image.fromarray(array).convert("RGB"))
    return photos


def photo_variants(photos: list[Image.Image], count: int, seed: int = 0) -> list[Image.Image]:
    """Return `count` fixed variants of the photos: crops, mirror images and brightness changes."""
    import random

    from PIL import ImageEnhance, ImageOps

    rng = random.Random(seed)
    out = []
    for i in range(count):
        photo = photos[i % len(photos)]
        keep = rng.uniform(0.55, 1.0)  # share of each side kept
        w, h = int(photo.width * keep), int(photo.height * keep)
        left, top = rng.randint(0, photo.width - w), rng.randint(0, photo.height - h)
        image = photo.crop((left, top, left + w, top + h))
        if rng.random() < 0.5:
            image = ImageOps.mirror(image)
        out.append(ImageEnhance.Brightness(image).enhance(rng.uniform(0.6, 1.4)))
    return out


def _variants_of_the_photos(count: int, seed: int) -> list[Image.Image]:
    """Return `count` variants (seeded) of the bundled sample photos and scikit-image's CHECK_PHOTOS."""
    photos = [sample_photo(name) for name in SAMPLE_PHOTOS] + _skimage_photos(CHECK_PHOTOS)
    return photo_variants(photos, count, seed=seed)


def check_photos(count: int = 216) -> list[Image.Image]:
    """Return the fixed photo set on which int8 and fp32 ImageNet models are compared (>= 200 images)."""
    return _variants_of_the_photos(count, seed=0)


def calibration_photos(count: int = 32) -> list[Image.Image]:
    """Return photos to calibrate an int8 ImageNet model on: other crops of the same photos (seed 1).

    Textures and scans (scikit-image's hubble, retina, ...) were tried first: ranges measured on them
    made int8 disagree with fp32 on most photos.
    """
    return _variants_of_the_photos(count, seed=1)


def held_out_photos(count: int = 216) -> list[Image.Image]:
    """Return a second fixed photo set (seed 7), to check that int8 is not fitted to the first by luck."""
    return _variants_of_the_photos(count, seed=7)
