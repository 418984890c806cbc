"""Image inputs: their token counts by the model's table rule, their sizes from data URLs.

The rule comes from the model's ``images`` entry in its pricing table:

- ``tiles`` (OpenAI's gpt-4o family): ``detail="low"`` costs ``base_tokens``. ``high``
  scales the image to fit 2048x2048, then down so that its shortest side is at most 768
  (scaled sizes are rounded down to whole pixels), and costs ``base_tokens`` plus
  ``tile_tokens`` for each 512-pixel tile needed to cover it.
- ``patches`` (OpenAI's newer mini and nano models): the 32-pixel patches needed to cover
  the image; past ``max_patches`` the image is scaled down to fit ``max_patches`` and then
  to a whole number of patches along its tighter side, as OpenAI's vision guide gives it;
  the count is capped at ``max_patches``, times ``multiplier``, rounded up to a whole token
  (OpenAI does not state the rounding; rounding up keeps an estimate from falling below the
  bill). ``detail`` does not change the count.
- ``pixels`` (Anthropic): an image is scaled down to fit ``max_edge`` on its long side and
  ``max_tokens``; it costs ``width * height / pixels_per_token`` tokens, rounded up.
  ``detail`` does not change the count.

``detail="auto"`` lets the provider pick low or high per image; costbook counts it as
``high``, the larger of the two, so that an estimate is never below what is billed.

An image whose size is not known (an ``http(s)`` URL, which is never fetched) counts as the
most its rule can cost for one image: see :func:`largest_image_tokens`.
"""

from __future__ import annotations

import base64
import binascii
import math
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING

from .._errors import PricingError
from ..pricing._model import Model, PatchRule, PixelRule, TileRule

if TYPE_CHECKING:
    pass

DETAILS = ("auto", "low", "high")

# Tile rule constants: fit in a square of this side, then shortest side at most this.
_TILE_FIT = 2048
_TILE_SHORT_SIDE = 768
_TILE = 512
_PATCH = 32
# The most tiles a high-detail image can need: 2048 x 768 is 4 x 2 tiles.
_MOST_TILES = 8


def image_tokens(width: int, height: int, model: str | Model, *, detail: str = "auto") -> int:
    """Input tokens of one ``width`` x ``height`` image for ``model`` (a ref or a
    :class:`Model`), by the image rule in its pricing table.

    ``detail`` is ``"low"``, ``"high"`` or ``"auto"`` (counted as ``"high"``). A model that
    bills images per image, or takes none, raises :class:`~costbook.PricingError`.
    """
    _check_size(width, height)
    return rule_tokens(_token_rule(resolve_model(model)), width, height, _check_detail(detail))


def rule_tokens(
    rule: TileRule | PatchRule | PixelRule, width: int, height: int, detail: str
) -> int:
    """Tokens of a ``width`` x ``height`` image by one table rule."""
    if isinstance(rule, TileRule):
        return _tile_tokens(rule, width, height, detail)
    if isinstance(rule, PatchRule):
        return _patch_tokens(rule, width, height)
    return _pixel_tokens(rule, width, height)


def largest_image_tokens(rule: TileRule | PatchRule | PixelRule, detail: str) -> int:
    """The most one image can cost by ``rule``: used for images of unknown size.

    Tiles: ``base_tokens`` at low detail, else ``base_tokens + 8 * tile_tokens`` (a 2048 x
    768 image); patches: ``max_patches`` times the multiplier; pixels: ``max_tokens``.
    """
    if isinstance(rule, TileRule):
        most = 0 if detail == "low" else _MOST_TILES
        return rule.base_tokens + most * rule.tile_tokens
    if isinstance(rule, PatchRule):
        return _times(rule.max_patches, rule.multiplier)
    return rule.max_tokens


def token_rule(model: Model) -> TileRule | PatchRule | PixelRule | None:
    """The image token rule of ``model``; ``None`` when it bills images per image.

    A model that takes no images, or whose table gives no token rule, raises
    :class:`~costbook.PricingError`.
    """
    billing = model.images
    if billing is None:
        raise PricingError(
            f"{model.ref} takes no image input: its pricing table has no images entry"
        )
    if billing.billing == "per_image":
        return None
    if billing.tokens is None:
        raise PricingError(
            f"{model.ref} bills images as tokens but its pricing table gives no token rule "
            "(images: {billing: tokens, tokens: {method: tiles|patches|pixels, ...}})"
        )
    return billing.tokens


def _token_rule(model: Model) -> TileRule | PatchRule | PixelRule:
    rule = token_rule(model)
    if rule is None:
        raise PricingError(
            f"{model.ref} bills images per image, not as input tokens; "
            "count the images instead (Usage(images=...))"
        )
    return rule


def _tile_tokens(rule: TileRule, width: int, height: int, detail: str) -> int:
    if detail == "low":
        return rule.base_tokens
    longest = max(width, height)
    if longest > _TILE_FIT:
        width, height = width * _TILE_FIT // longest, height * _TILE_FIT // longest
    shortest = min(width, height)
    if shortest > _TILE_SHORT_SIDE:
        width = width * _TILE_SHORT_SIDE // shortest
        height = height * _TILE_SHORT_SIDE // shortest
    tiles = _cover(width, _TILE) * _cover(height, _TILE)
    return rule.base_tokens + rule.tile_tokens * tiles


def _patch_tokens(rule: PatchRule, width: int, height: int) -> int:
    budget = rule.max_patches
    patches = _cover(width, _PATCH) * _cover(height, _PATCH)
    if patches > budget:
        patches = min(_patches_after_scaling(width, height, budget), budget)
    return _times(patches, rule.multiplier)


def _patches_after_scaling(width: int, height: int, budget: int) -> int:
    """Patches after OpenAI's two scalings: by r = sqrt(32^2 * budget / (w * h)), then by
    the smaller of floor(side * r / 32) / (side * r / 32) over both sides.

    Computed in integers: side * r / 32 is sqrt(budget * side / other side), and the floor
    of a square root of x is the integer square root of floor(x).
    """
    across = max(math.isqrt(budget * width // height), 1)  # whole patches along the width
    down = max(math.isqrt(budget * height // width), 1)  # whole patches along the height
    if across * height <= down * width:  # the width is the tighter fit
        return across * _cover(height * across, width)
    return down * _cover(width * down, height)


def _pixel_tokens(rule: PixelRule, width: int, height: int) -> int:
    longest = max(width, height)
    if longest > rule.max_edge:
        width = max(width * rule.max_edge // longest, 1)
        height = max(height * rule.max_edge // longest, 1)
    most_pixels = rule.max_tokens * rule.pixels_per_token
    if width * height > most_pixels:
        # scale by s = sqrt(most_pixels / (w * h)): side * s = sqrt(most_pixels * side / other)
        width, height = (
            max(math.isqrt(most_pixels * width // height), 1),
            max(math.isqrt(most_pixels * height // width), 1),
        )
    return min(_cover(width * height, rule.pixels_per_token), rule.max_tokens)


def _cover(length: int, unit: int) -> int:
    """How many ``unit`` pieces cover ``length``: ceil(length / unit)."""
    return -(-length // unit)


def _times(count: int, multiplier: Decimal) -> int:
    return int((count * multiplier).to_integral_value(rounding=ROUND_CEILING))


def _check_size(width: object, height: object) -> None:
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(
                f"image {name} must be a whole number of pixels above 0, got {value!r}"
            )


def _check_detail(detail: object) -> str:
    if detail not in DETAILS:
        raise ValueError(f"image detail must be one of {', '.join(DETAILS)}, got {detail!r}")
    return str(detail)


def resolve_model(model: str | Model) -> Model:
    """``model`` itself, or the model a ref names in the catalog in use."""
    if isinstance(model, Model):
        return model
    from ..pricing._catalog import catalog

    return catalog().resolve(model)


# --- image sizes from the bytes -------------------------------------------------------

# Enough base64 text for the headers of PNG, GIF and WebP, and of most JPEGs.
_PREFIX_CHARS = 4096
_JPEG_FRAME_MARKERS = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)
_JPEG_MARKERS_WITHOUT_LENGTH = frozenset({0x01, 0xD8, *range(0xD0, 0xD8)})


class _Truncated(Exception):
    """The bytes end before the image's size is given."""


def data_url_size(url: str) -> tuple[int, int]:
    """Width and height of the image in a base64 ``data:`` URL (PNG, JPEG, GIF or WebP).

    Only as much of the data as the header needs is decoded. Sizes are as stored: a JPEG's
    EXIF orientation is not applied.
    """
    header, comma, payload = url.partition(",")
    if not comma or not header.lower().startswith("data:"):
        raise ValueError(f"not a data URL: {url[:40]!r}...")
    if not header.lower().endswith(";base64"):
        raise ValueError(
            f"data URL {header!r} is not base64; costbook reads images from "
            "data:image/...;base64,... URLs"
        )
    payload = payload.strip()
    if len(payload) > _PREFIX_CHARS:
        try:
            return _image_size(_b64(payload[:_PREFIX_CHARS], header))
        except _Truncated:
            pass
    try:
        return _image_size(_b64(payload, header))
    except _Truncated:
        raise ValueError(
            f"the image in data URL {header!r} ends before its size is given"
        ) from None


def _b64(text: str, header: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"data URL {header!r} does not hold valid base64") from None


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height from the header of PNG, JPEG, GIF or WebP bytes."""
    try:
        return _image_size(data)
    except _Truncated:
        raise ValueError(f"image data of {len(data)} bytes ends before its size is given") from None


def _image_size(data: bytes) -> tuple[int, int]:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        _need(data, 24)
        if data[12:16] != b"IHDR":
            raise ValueError("PNG data does not start with an IHDR chunk")
        return _be(data, 16, 4), _be(data, 20, 4)
    if data[:6] in (b"GIF87a", b"GIF89a"):
        _need(data, 10)
        return _le(data, 6, 2), _le(data, 8, 2)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_size(data)
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    if len(data) < 12:
        raise _Truncated
    raise ValueError(
        f"image data starting {data[:12]!r} is not PNG, JPEG, GIF or WebP; "
        "costbook reads the sizes of those four formats"
    )


def _webp_size(data: bytes) -> tuple[int, int]:
    _need(data, 30)
    chunk = data[12:16]
    if chunk == b"VP8 ":  # lossy: frame tag, start code 9d 01 2a, 14-bit sizes
        if data[23:26] != b"\x9d\x01\x2a":
            raise ValueError("WebP VP8 data lacks its frame start code")
        return _le(data, 26, 2) & 0x3FFF, _le(data, 28, 2) & 0x3FFF
    if chunk == b"VP8L":  # lossless: signature 0x2f, then 14-bit width-1 and height-1
        if data[20] != 0x2F:
            raise ValueError("WebP VP8L data lacks its signature byte")
        bits = _le(data, 21, 4)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: 24-bit canvas width-1 and height-1
        return _le(data, 24, 3) + 1, _le(data, 27, 3) + 1
    raise ValueError(f"WebP data has an unknown first chunk {chunk!r}")


def _jpeg_size(data: bytes) -> tuple[int, int]:
    at = 2
    while True:
        _need(data, at + 2)
        if data[at] != 0xFF:
            raise ValueError(f"JPEG data has no segment marker at byte {at}")
        while data[at] == 0xFF:  # fill bytes
            at += 1
            _need(data, at + 1)
        marker = data[at]
        at += 1
        if marker in _JPEG_MARKERS_WITHOUT_LENGTH:
            continue
        if marker in (0xD9, 0xDA):
            raise ValueError("JPEG data reaches its image data before a frame header")
        _need(data, at + 2)
        length = _be(data, at, 2)
        if marker in _JPEG_FRAME_MARKERS:
            _need(data, at + 7)
            height, width = _be(data, at + 3, 2), _be(data, at + 5, 2)
            if not width or not height:
                raise ValueError("JPEG frame header gives a size of 0")
            return width, height
        at += length


def _need(data: bytes, length: int) -> None:
    if len(data) < length:
        raise _Truncated


def _be(data: bytes, at: int, size: int) -> int:
    return int.from_bytes(data[at : at + size], "big")


def _le(data: bytes, at: int, size: int) -> int:
    return int.from_bytes(data[at : at + size], "little")
