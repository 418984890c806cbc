import pytest

from costbook import Usage
from costbook.pricing._usage import MAX_COUNT


def test_defaults_are_zero_with_one_request():
    usage = Usage()
    assert usage.as_dict() == {
        "input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0,
        "cache_write_tokens": 0, "cache_write_1h_tokens": 0, "reasoning_tokens": 0,
        "audio_input_tokens": 0, "audio_output_tokens": 0, "audio_cache_read_tokens": 0,
        "images": 0, "web_searches": 0, "requests": 1,
    }


def test_uncached_input_excludes_cache_reads_and_writes():
    usage = Usage(input_tokens=1000, cache_read_tokens=300, cache_write_tokens=200)
    assert usage.uncached_input_tokens == 500


@pytest.mark.parametrize("value", [-1, 1.5, "10", None, True])
def test_counts_must_be_whole_non_negative_numbers(value):
    with pytest.raises(ValueError, match="input_tokens"):
        Usage(input_tokens=value)


def test_negative_count_names_the_number():
    with pytest.raises(ValueError, match=r"output_tokens must be 0 or more, got -5"):
        Usage(output_tokens=-5)


def test_cache_read_larger_than_input_names_both_numbers():
    with pytest.raises(ValueError, match=r"cache_read_tokens \(200\) is larger than input_tokens \(100\)"):
        Usage(input_tokens=100, cache_read_tokens=200)


def test_cache_parts_together_larger_than_input():
    with pytest.raises(ValueError, match=r"\(60 \+ 60\) is larger than input_tokens \(100\)"):
        Usage(input_tokens=100, cache_read_tokens=60, cache_write_tokens=60)


def test_reasoning_larger_than_output_names_both_numbers():
    with pytest.raises(ValueError, match=r"reasoning_tokens \(11\) is larger than output_tokens \(10\)"):
        Usage(output_tokens=10, reasoning_tokens=11)


def test_one_hour_writes_are_part_of_cache_writes():
    with pytest.raises(ValueError, match=r"cache_write_1h_tokens \(5\) is larger than cache_write_tokens \(4\)"):
        Usage(input_tokens=10, cache_write_tokens=4, cache_write_1h_tokens=5)


def test_usages_add_up():
    total = Usage(input_tokens=10, output_tokens=2) + Usage(input_tokens=5, cache_read_tokens=5)
    assert total == Usage(input_tokens=15, output_tokens=2, cache_read_tokens=5, requests=2)


def test_from_dict_rejects_unknown_fields():
    with pytest.raises(ValueError, match=r"unknown usage field.*prompt_tokens"):
        Usage.from_dict({"prompt_tokens": 3})
    assert Usage.from_dict({"input_tokens": 3}) == Usage(input_tokens=3)


def test_counts_have_an_upper_bound_of_a_signed_64_bit_integer():
    assert Usage(input_tokens=MAX_COUNT).input_tokens == 2**63 - 1 == MAX_COUNT
    with pytest.raises(ValueError, match=r"input_tokens must be at most 2\*\*63 - 1"):
        Usage(input_tokens=2**63)
    with pytest.raises(ValueError, match="images must be at most"):
        Usage(images=10**400)


def test_a_sum_may_pass_the_bound_of_one_count():
    big = Usage(input_tokens=5 * 10**18)
    assert (big + big).input_tokens == 10**19


def test_the_quick_check_of_a_usage_agrees_with_the_full_one():
    """A usage is accepted at once when its counts are plain and consistent; every other
    one goes through the full check, which names what is wrong. The two never disagree."""
    import random

    from costbook.pricing._usage import USAGE_FIELDS, _plainly_valid

    chooser = random.Random(20261206)
    accepted = refused = 0
    for _ in range(20000):
        counts = {name: chooser.choice([0, 0, 1, 2, 3, 5, 8]) for name in USAGE_FIELDS}
        counts["input_tokens"] = chooser.choice([0, 3, 10, 20])
        counts["output_tokens"] = chooser.choice([0, 3, 10, 20])
        usage = _unchecked(counts)
        try:
            usage._check(bounded=True)
            valid = True
        except ValueError:
            valid = False
        assert _plainly_valid(usage) is valid, counts
        accepted += valid
        refused += not valid
    assert accepted > 1000 and refused > 1000
    for value in (MAX_COUNT + 1, -1, True, 1.0):
        zeros: dict[str, object] = dict.fromkeys(USAGE_FIELDS, 0)
        assert not _plainly_valid(_unchecked({**zeros, "input_tokens": value}))


def _unchecked(counts: dict[str, object]) -> Usage:
    """A usage holding ``counts`` as they are, without its checks."""
    usage = object.__new__(Usage)
    for name, value in counts.items():
        object.__setattr__(usage, name, value)
    return usage
