"""Tesseract 5 (``rus+eng``) through tesserocr, with the pre-processing phone photos need.

One Tesseract engine per process, loaded on first use (about 0.2 s) and shared under a
lock: the engine is not thread-safe, and a card takes a fraction of a second.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageFilter, ImageOps

LANGUAGES = "rus+eng"
# Longest side the engine sees: large enough for small print on a card photographed
# whole, small enough to stay well under a second per card.
TARGET_SIDE = 1800
MIN_SIDE = 1200
DESKEW_LIMIT = 12.0  # degrees either way


@dataclass(frozen=True)
class OcrLine:
    text: str
    confidence: float  # 0..1


@dataclass(frozen=True)
class OcrResult:
    lines: list[OcrLine]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


class _Engine:
    def __init__(self, tessdata: str):
        import tesserocr

        self.tesserocr = tesserocr
        self.api = tesserocr.PyTessBaseAPI(
            path=tessdata.rstrip("/") + "/", lang=LANGUAGES, psm=tesserocr.PSM.SPARSE_TEXT
        )
        self.lock = threading.Lock()

    def read(self, image: Image.Image) -> OcrResult:
        RIL = self.tesserocr.RIL
        with self.lock:
            self.api.SetImage(image)
            self.api.Recognize()
            lines = []
            iterator = self.api.GetIterator()
            if iterator is not None:
                for item in self.tesserocr.iterate_level(iterator, RIL.TEXTLINE):
                    try:
                        text = (item.GetUTF8Text(RIL.TEXTLINE) or "").strip()
                    except RuntimeError:  # an empty block
                        continue
                    if text:
                        lines.append(OcrLine(text, max(0.0, item.Confidence(RIL.TEXTLINE)) / 100))
            self.api.Clear()
        return OcrResult(lines)


_engines: dict[str, _Engine] = {}
_engines_lock = threading.Lock()


def engine(tessdata: str) -> _Engine:
    with _engines_lock:
        if tessdata not in _engines:
            _engines[tessdata] = _Engine(tessdata)
        return _engines[tessdata]


def open_image(data: bytes) -> Image.Image:
    """Decode a photo, turned upright by its EXIF orientation. Raises OSError if unreadable."""
    image = Image.open(io.BytesIO(data))
    return ImageOps.exif_transpose(image)


def _scaled(image: Image.Image) -> Image.Image:
    longest = max(image.size)
    if MIN_SIDE <= longest <= TARGET_SIDE:
        return image
    factor = TARGET_SIDE / longest
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.LANCZOS)


def _flatten_light(grey: Image.Image) -> Image.Image:
    """Even out the light: subtract a blurred copy (the page's shading), keep the ink."""
    small = grey.resize((max(1, grey.width // 8), max(1, grey.height // 8)), Image.BILINEAR)
    # A max filter removes the text from the background estimate before blurring.
    background = small.filter(ImageFilter.MaxFilter(5)).filter(ImageFilter.GaussianBlur(6))
    background = background.resize(grey.size, Image.BILINEAR)
    return ImageOps.invert(ImageChops.subtract(background, grey))


def _row_profile_score(image: Image.Image) -> float:
    rows = image.resize((1, image.height), Image.BOX).tobytes()
    mean = sum(rows) / len(rows)
    return sum((value - mean) ** 2 for value in rows)


def skew_angle(grey: Image.Image) -> float:
    """The rotation that makes text lines horizontal (projection profile), in degrees."""
    small = grey.copy()
    small.thumbnail((500, 500))
    ink = ImageOps.invert(ImageOps.autocontrast(small, cutoff=2))

    def score(angle: float) -> float:
        return _row_profile_score(ink.rotate(angle, resample=Image.BILINEAR, fillcolor=0))

    best = max((a for a in range(-int(DESKEW_LIMIT), int(DESKEW_LIMIT) + 1, 2)), key=score)
    fine = [best + step / 2 for step in range(-3, 4)]
    return max(fine, key=score)


def _otsu(histogram: list[int]) -> int:
    total = sum(histogram)
    weighted = sum(i * count for i, count in enumerate(histogram))
    below = below_weighted = 0
    best, threshold = -1.0, 128
    for level, count in enumerate(histogram):
        below += count
        if below == 0 or below == total:
            continue
        below_weighted += level * count
        mean_low = below_weighted / below
        mean_high = (weighted - below_weighted) / (total - below)
        spread = below * (total - below) * (mean_low - mean_high) ** 2
        if spread > best:
            best, threshold = spread, level
    return threshold


def crop_to_card(grey: Image.Image) -> Image.Image:
    """The card without the table around it: the bright paper's bounding box, if clear.

    A photo where the card fills the frame, or no clear paper, is returned as it is.
    """
    small = grey.copy()
    small.thumbnail((400, 400))
    threshold = _otsu(small.histogram())
    paper = small.point(lambda v: 255 if v > threshold else 0).filter(ImageFilter.MinFilter(5))
    box = paper.getbbox()
    if box is None:
        return grey
    left, top, right, bottom = box
    share = (right - left) * (bottom - top) / (small.width * small.height)
    if not 0.2 <= share <= 0.9:
        return grey
    scale = grey.width / small.width
    margin = 4
    return grey.crop(
        (
            max(0, int((left - margin) * scale)),
            max(0, int((top - margin) * scale)),
            min(grey.width, int((right + margin) * scale)),
            min(grey.height, int((bottom + margin) * scale)),
        )
    )


def preprocess(image: Image.Image) -> Image.Image:
    """Grey, cropped to the card, even light, stretched contrast, straightened and scaled."""
    grey = crop_to_card(ImageOps.grayscale(image))
    grey = _scaled(grey)
    grey = _flatten_light(grey)
    grey = ImageOps.autocontrast(grey, cutoff=1)
    angle = skew_angle(grey)
    if abs(angle) >= 0.5:
        grey = grey.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=255)
    return grey


def _score(result: OcrResult) -> float:
    return sum(line.confidence * len(line.text) for line in result.lines)


def _weak(result: OcrResult) -> bool:
    text = sum(len(line.text) for line in result.lines)
    return text < 40 or _score(result) / max(text, 1) < 0.6


def read_text(image: Image.Image, tessdata: str) -> OcrResult:
    """OCR a card photo after pre-processing; returns its lines with their confidence.

    A card photographed on its side reads as little or as noise: then the photo is also
    read turned a quarter either way, and the best reading wins.
    """
    reader = engine(tessdata)
    prepared = preprocess(image)
    result = reader.read(prepared)
    if _weak(result):
        for turn in (Image.ROTATE_90, Image.ROTATE_270):
            turned = reader.read(prepared.transpose(turn))
            if _score(turned) > _score(result) * 1.5:
                result = turned
    return result
