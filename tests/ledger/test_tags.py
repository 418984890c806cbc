import threading

import pytest

from costbook.ledger._tags import check_tags, current_tags, tagged


def test_blocks_nest_and_inner_values_win():
    assert current_tags() == {}
    with tagged(user="u1", feature="a"):
        with tagged(feature="b"):
            assert current_tags() == {"user": "u1", "feature": "b"}
        assert current_tags() == {"user": "u1", "feature": "a"}
    assert current_tags() == {}


def test_tags_belong_to_their_thread():
    seen = []
    with tagged(user="main"):
        worker = threading.Thread(target=lambda: seen.append(current_tags()))
        worker.start()
        worker.join()
    assert seen == [{}]


@pytest.mark.parametrize("tags", [{"n": 1}, {1: "x"}, ["a"]])
def test_tags_map_strings_to_strings(tags):
    with pytest.raises(TypeError, match="tags"):
        check_tags(tags)


def test_tagged_checks_values():
    with pytest.raises(TypeError, match="'n': 1"), tagged(n=1):  # type: ignore[arg-type]
        pass


def test_a_tag_shaped_like_a_secret_is_refused_when_the_block_opens():
    with pytest.raises(ValueError, match="looks like an API key"), \
            tagged(user="sk-" + "a" * 24):
        pass


def test_tag_keys_are_non_empty():
    with pytest.raises(ValueError, match="non-empty"):
        check_tags({"": "x"})
