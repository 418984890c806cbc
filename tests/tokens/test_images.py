import base64
import math
import struct

import pytest

import costbook
from costbook import PricingError
from costbook.tokens._images import data_url_size, image_size, largest_image_tokens, token_rule
from samples import data_url, png
from table_factory import catalog_of, model_entry, table_data

# Real images written by an image library, kept here as base64 text.
JPEG_37x21 = (
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAP////////////////////////////////////////////////////"
    "//////////////////////////////////wAALCAAVACUBAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQF"
    "BgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2Jygg"
    "kKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWW"
    "l5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACA"
    "EBAAA/AEoooooooooooooor//Z"
)
JPEG_PROGRESSIVE_50x3 = (
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAP////////////////////////////////////////////////////"
    "//////////////////////////////////wgALCAADADIBAREA/8QAFQABAQAAAAAAAAAAAAAAAAAAAAH/2gAI"
    "AQEAAAABgH//xAAUEAEAAAAAAAAAAAAAAAAAAAAg/9oACAEBAAEFAn//xAAUEAEAAAAAAAAAAAAAAAAAAAAg/9o"
    "ACAEBAAY/An//xAAUEAEAAAAAAAAAAAAAAAAAAAAg/9oACAEBAAE/IX//2gAIAQEAAAAQ/wD/xAAUEAEAAAAAA"
    "AAAAAAAAAAAAAAg/9oACAEBAAE/EH//2Q=="
)
GIF_33x17 = (
    "R0lGODdhIQARAIEAAMgeKAAAAAAAAAAAACwAAAAAIQARAEAIKAABCBxIsKDBgwgTKlzIsKHDhxAjSpxIsaLFixgz"
    "atzIsaPHjyBDBgQAOw=="
)
WEBP_VP8_130x70 = (
    "UklGRmIAAABXRUJQVlA4IFYAAABwBQCdASqCAEYAP83m8HM/uDMsoMgD8DmJaQDWMAJ76NqHOMoCZQb8ZQKNTfRu"
    "NVGUA88AAP7QymUO/yOwhutOnGit3zCksUXhA8ZLTeuAHQIZogAAAA=="
)
WEBP_VP8L_513x1 = "UklGRh4AAABXRUJQVlA4TBEAAAAvAAIAAAdQjyIXpf+BiOh/AAA="
WEBP_VP8X_4000x3 = (
    "UklGRuIAAABXRUJQVlA4WAoAAAAQAAAAnw8AAgAAQUxQSBEAAAABB1DAiAgDkBD+75ci+p9qBwBWUDggqgAAALAQ"
    "AJ0BKqAPAwA/zebxc7+4M6ygKAPwOYlpbuF2sRtACewD32ych77ZOQ99snIe+2TkPfbJyHvtk5D32ych77ZOQ99"
    "snIe+2TkPfbJyHvtk5D32ych77ZOQ99snIe+2TkPfbJyHvtk5D32ych77ZOQ99snIe+2TkPfbJyHvtk5D32ych7"
    "7ZOQ99snIesAAA/v5JX09m/+tefuRI3ooWA3emoEAAAAAAAAAA"
)


def models(**images):
    """Models of a test table, one per image rule given."""
    entries = [model_entry(id=name, aliases=[], images=rule) for name, rule in images.items()]
    tables = catalog_of(table_data("acme", *entries))
    return {name: tables.resolve(name, "acme") for name in images}


TILES_4O = {"billing": "tokens", "tokens": {"method": "tiles", "base_tokens": 85, "tile_tokens": 170}}
PATCHES_1 = {"billing": "tokens", "tokens": {"method": "patches", "multiplier": "1"}}
PATCHES_162 = {"billing": "tokens", "tokens": {"method": "patches", "multiplier": "1.62"}}
PIXELS = {"billing": "tokens", "tokens": {"method": "pixels", "pixels_per_token": 750}}


@pytest.fixture(scope="module")
def rules():
    return models(tiles=TILES_4O, patches=PATCHES_1, patches162=PATCHES_162, pixels=PIXELS)


# --- OpenAI's tile rule ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "detail", "tokens"),
    [
        (1024, 1024, "high", 2833 + 4 * 5667),  # scaled to 768 x 768: 2 x 2 tiles
        (2048, 4096, "high", 2833 + 6 * 5667),  # 1024 x 2048, then 768 x 1536: 2 x 3 tiles
        (512, 512, "high", 2833 + 5667),
        (513, 512, "high", 2833 + 2 * 5667),
        (100, 5000, "high", 2833 + 4 * 5667),  # 40 x 2048: 1 x 4 tiles
        (1024, 1024, "auto", 2833 + 4 * 5667),  # auto counts as high
        (4096, 8192, "low", 2833),
        (1, 1, "low", 2833),
    ],
)
def test_gpt_4o_mini_counts_tiles_with_its_own_constants(width, height, detail, tokens):
    assert costbook.image_tokens(width, height, "gpt-4o-mini", detail=detail) == tokens


@pytest.mark.parametrize(
    ("width", "height", "detail", "tokens"),
    [
        (1024, 1024, "high", 765),  # OpenAI's worked examples for gpt-4o
        (2048, 4096, "high", 1105),
        (4096, 8192, "low", 85),
        (768, 768, "auto", 85 + 4 * 170),
        (2048, 768, "high", 85 + 8 * 170),  # the most tiles an image can need
    ],
)
def test_tile_rule_examples(rules, width, height, detail, tokens):
    assert costbook.image_tokens(width, height, rules["tiles"], detail=detail) == tokens


# --- OpenAI's patch rule --------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "tokens"),
    [
        (1024, 1024, 1024),  # OpenAI's worked examples: 32 x 32 patches
        (1800, 2400, 1452),  # scaled to 33 x 44 patches
        (2400, 1800, 1452),
        (128, 64, 8),
        (4000, 1474, 1449),  # the height is the tighter fit: 63 x 23 patches
        (2048, 768, 1536),
        (1, 100_000, 1536),  # 1 x 3125 patches: one patch across, capped at the budget
    ],
)
def test_patch_rule_examples(rules, width, height, tokens):
    assert costbook.image_tokens(width, height, rules["patches"]) == tokens
    assert costbook.image_tokens(width, height, rules["patches"], detail="low") == tokens


@pytest.mark.parametrize(
    ("width", "height", "tokens"),
    [
        (1024, 1024, 1659),  # 1024 x 1.62 = 1658.88, rounded up
        (1800, 2400, 2353),  # 1452 x 1.62 = 2352.24
        (4000, 1474, 2348),  # 1449 x 1.62 = 2347.38
        (128, 64, 13),  # 8 x 1.62 = 12.96
    ],
)
def test_patch_multiplier_rounds_up(rules, width, height, tokens):
    assert costbook.image_tokens(width, height, rules["patches162"], detail="high") == tokens


def test_patch_models_in_the_bundled_tables_use_their_multiplier():
    model = costbook.catalog().resolve("gpt-4.1-mini")
    rule = token_rule(model)
    assert rule is not None and rule.method == "patches"
    assert costbook.image_tokens(1024, 1024, model) == math.ceil(1024 * rule.multiplier)


# --- Anthropic's pixel rule -----------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "tokens"),
    [
        (200, 200, 54),  # 40000 / 750 = 53.3
        (1000, 1000, 1334),
        (1092, 1092, 1590),  # the largest square kept as it is
        (4000, 1000, 820),  # long edge to 1568: 1568 x 392
        (2000, 2000, 1599),  # to 1568 x 1568, then to 1095 x 1095 to fit 1600 tokens
    ],
)
def test_pixel_rule_examples(rules, width, height, tokens):
    assert costbook.image_tokens(width, height, rules["pixels"]) == tokens


def test_claude_models_use_the_pixel_rule():
    assert costbook.image_tokens(1000, 1000, "claude-3-5-haiku-20241022") == 1334


# --- what cannot be counted -----------------------------------------------------------


def test_per_image_billing_counts_images_not_tokens():
    with pytest.raises(PricingError, match="bills images per image, not as input tokens"):
        costbook.image_tokens(100, 100, "openrouter:openai/gpt-4o-mini")


def test_a_model_without_an_image_rule_is_a_clear_error():
    found = models(text_only=None, no_rule={"billing": "tokens"})
    with pytest.raises(PricingError, match="takes no image input"):
        costbook.image_tokens(10, 10, found["text_only"])
    with pytest.raises(PricingError, match="gives no token rule"):
        costbook.image_tokens(10, 10, found["no_rule"])


@pytest.mark.parametrize(
    ("width", "height", "detail", "message"),
    [
        (0, 10, "auto", "width must be a whole number of pixels above 0, got 0"),
        (10, 10.5, "auto", "height must be a whole number"),
        (True, 10, "auto", "width must be"),
        (10, 10, "medium", "detail must be one of auto, low, high, got 'medium'"),
    ],
)
def test_bad_arguments(width, height, detail, message):
    with pytest.raises(ValueError, match=message):
        costbook.image_tokens(width, height, "gpt-4o-mini", detail=detail)


def test_largest_image_tokens_per_rule(rules):
    assert largest_image_tokens(token_rule(rules["tiles"]), "high") == 85 + 8 * 170
    assert largest_image_tokens(token_rule(rules["tiles"]), "low") == 85
    assert largest_image_tokens(token_rule(rules["patches162"]), "auto") == 2489  # 2488.32
    assert largest_image_tokens(token_rule(rules["pixels"]), "auto") == 1600


# --- sizes from image headers ---------------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "mime", "size"),
    [
        (JPEG_37x21, "image/jpeg", (37, 21)),
        (JPEG_PROGRESSIVE_50x3, "image/jpeg", (50, 3)),
        (GIF_33x17, "image/gif", (33, 17)),
        (WEBP_VP8_130x70, "image/webp", (130, 70)),
        (WEBP_VP8L_513x1, "image/webp", (513, 1)),
        (WEBP_VP8X_4000x3, "image/webp", (4000, 3)),
    ],
)
def test_sizes_of_each_format(encoded, mime, size):
    assert data_url_size(f"data:{mime};base64,{encoded}") == size
    assert image_size(base64.b64decode(encoded)) == size


@pytest.mark.parametrize(("width", "height"), [(300, 200), (1, 1), (4000, 3000), (65535, 2)])
def test_png_sizes(width, height):
    assert data_url_size(data_url(png(width, height))) == (width, height)


def test_gif89a_header():
    data = bytearray(base64.b64decode(GIF_33x17))
    data[:6] = b"GIF89a"
    assert image_size(bytes(data)) == (33, 17)


def test_jpeg_frame_header_found_past_long_segments():
    jpeg = base64.b64decode(JPEG_37x21)
    comment = b"x" * 60_000
    padded = jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + jpeg[2:]
    assert data_url_size(data_url(padded, "image/jpeg")) == (37, 21)


def test_the_format_comes_from_the_bytes_not_the_mime_type():
    assert data_url_size(data_url(png(7, 9), "image/jpeg")) == (7, 9)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("data:image/png;base64,!!!!", "does not hold valid base64"),
        ("data:image/svg+xml,<svg/>", "is not base64"),
        ("https://example.com/a.png", "not a data URL"),
        (data_url(b"BM" + bytes(40), "image/bmp"), "is not PNG, JPEG, GIF or WebP"),
        (data_url(png(5, 5)[:20]), "ends before its size is given"),
        (data_url(base64.b64decode(JPEG_37x21)[:60], "image/jpeg"), "ends before its size"),
        (data_url(b"\xff\xd8\xff\xda\x00\x02", "image/jpeg"), "before a frame header"),
        (data_url(b"RIFF\x00\x00\x00\x00WEBPVP8Z" + bytes(20), "image/webp"), "unknown first"),
    ],
)
def test_unreadable_images_are_clear_errors(url, message):
    with pytest.raises(ValueError, match=message):
        data_url_size(url)


def test_image_size_of_short_bytes_is_a_clear_error():
    with pytest.raises(ValueError, match="image data of 3 bytes ends before its size is given"):
        image_size(b"\x89PN")
