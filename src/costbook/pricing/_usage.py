"""Usage: the billable counts of one call, with the conventions of OpenAI and OpenTelemetry."""

from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter

TYPE_CHECKING = False  # typing is not imported at run time, to keep `import costbook` fast
if TYPE_CHECKING:
    from typing import Any

# A part and a total it belongs to: cache reads and writes and audio input are parts of the
# input tokens, reasoning and audio output parts of the output tokens, 1-hour cache writes
# part of all cache writes, cached audio part of both the cache reads and the audio input.
PART_OF: tuple[tuple[str, str], ...] = (
    ("cache_read_tokens", "input_tokens"),
    ("cache_write_tokens", "input_tokens"),
    ("cache_write_1h_tokens", "cache_write_tokens"),
    ("reasoning_tokens", "output_tokens"),
    ("audio_input_tokens", "input_tokens"),
    ("audio_output_tokens", "output_tokens"),
    ("audio_cache_read_tokens", "audio_input_tokens"),
    ("audio_cache_read_tokens", "cache_read_tokens"),
)

MAX_COUNT = 2**63 - 1
"""The largest count of one call: a ledger stores counts as signed 64-bit integers."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Counts of the billable units of one call.

    ``input_tokens`` counts *all* input tokens, cache reads and writes and audio included;
    ``output_tokens`` counts *all* output tokens, reasoning and audio included. The cache,
    reasoning and audio counts are parts of those totals; ``cache_write_1h_tokens`` is the
    part of ``cache_write_tokens`` written with a 1-hour lifetime (Anthropic);
    ``audio_cache_read_tokens`` the part of the audio input read from the cache (it counts
    in ``cache_read_tokens`` too). ``images`` counts input images where a provider bills per
    image, ``web_searches`` the searches a provider bills per search, ``requests`` the
    calls billed per request.

    Each count is a whole number from 0 to ``2**63 - 1`` (9,223,372,036,854,775,807, what a
    ledger stores); anything else is a ValueError naming the field. A sum of usages
    (``a + b``, a report row) may pass that bound.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    audio_input_tokens: int = 0
    audio_output_tokens: int = 0
    audio_cache_read_tokens: int = 0
    images: int = 0
    web_searches: int = 0
    requests: int = 1

    def __post_init__(self) -> None:
        if not _plainly_valid(self):
            self._check(bounded=True)

    def _check(self, *, bounded: bool) -> None:
        for name in USAGE_FIELDS:
            value = getattr(self, name)
            if type(value) is not int and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"usage {name} must be a whole number of units, got {value!r}")
            if value < 0:
                raise ValueError(f"usage {name} must be 0 or more, got {value}")
            if bounded and value > MAX_COUNT:
                raise ValueError(
                    f"usage {name} must be at most 2**63 - 1 ({MAX_COUNT}), got "
                    f"{count_text(value)}"
                )
        for part, total in PART_OF:
            if getattr(self, part) > getattr(self, total):
                raise ValueError(
                    f"usage {part} ({getattr(self, part)}) is larger than {total} "
                    f"({getattr(self, total)}); {part} is a part of {total}"
                )
        if self.cache_read_tokens + self.cache_write_tokens > self.input_tokens:
            raise ValueError(
                "usage cache_read_tokens + cache_write_tokens "
                f"({self.cache_read_tokens} + {self.cache_write_tokens}) is larger than "
                f"input_tokens ({self.input_tokens}); input_tokens counts all input, "
                "cache reads and writes included"
            )
        text_cached = self.cache_read_tokens - self.audio_cache_read_tokens
        if text_cached + self.cache_write_tokens + self.audio_input_tokens > self.input_tokens:
            raise ValueError(
                "usage cache reads, cache writes and audio input "
                f"({self.cache_read_tokens} + {self.cache_write_tokens} + "
                f"{self.audio_input_tokens}, cached audio counted once) are larger than "
                f"input_tokens ({self.input_tokens})"
            )
        if self.reasoning_tokens + self.audio_output_tokens > self.output_tokens:
            raise ValueError(
                "usage reasoning_tokens + audio_output_tokens "
                f"({self.reasoning_tokens} + {self.audio_output_tokens}) is larger than "
                f"output_tokens ({self.output_tokens})"
            )

    @property
    def uncached_input_tokens(self) -> int:
        """Input tokens that are neither cache reads nor cache writes."""
        return self.input_tokens - self.cache_read_tokens - self.cache_write_tokens

    def as_dict(self) -> dict[str, int]:
        """The counts as a plain dict, in field order."""
        return dict(zip(USAGE_FIELDS, usage_counts(self), strict=True))

    def __add__(self, other: object) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage.summed({n: getattr(self, n) + getattr(other, n) for n in USAGE_FIELDS})

    @classmethod
    def summed(cls, counts: dict[str, int]) -> Usage:
        """A usage that is a sum over calls: checked like one call's, except that a count
        may pass the bound of one call (``2**63 - 1``)."""
        usage = object.__new__(cls)
        for name in USAGE_FIELDS:
            object.__setattr__(usage, name, counts.get(name, 1 if name == "requests" else 0))
        usage._check(bounded=False)
        return usage

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Usage:
        """Build a usage from a mapping of field names; an unknown name is an error."""
        unknown = sorted(set(data) - set(USAGE_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown usage field(s) {', '.join(unknown)}; "
                f"expected some of {', '.join(USAGE_FIELDS)}"
            )
        return cls(**data)


def count_text(value: int) -> str:
    """A count for a message: in full up to 30 digits, else its size in digits."""
    if value < 10**30:
        return str(value)
    return f"a number of about {int(value.bit_length() * 0.30103) + 1} digits"


USAGE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Usage))
usage_counts = attrgetter(*USAGE_FIELDS)
"""A usage's counts as a tuple, in field order."""


def _plainly_valid(usage: Usage) -> bool:
    """Whether every count of one call is a plain int in range and each part within its
    total: the common case, decided without building a message (else ``_check`` says what
    is wrong)."""
    counts: tuple[int, ...] = usage_counts(usage)
    for value in counts:
        if type(value) is not int or not 0 <= value <= MAX_COUNT:
            return False
    (inputs, outputs, cache_read, cache_write, cache_write_1h, reasoning, audio_input,
     audio_output, audio_cache_read, _, _, _) = counts
    return (cache_write_1h <= cache_write
            and audio_cache_read <= audio_input and audio_cache_read <= cache_read
            and cache_read - audio_cache_read + cache_write + audio_input <= inputs
            and cache_read + cache_write <= inputs
            and reasoning + audio_output <= outputs)
