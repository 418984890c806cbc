import threading

import pytest

from costbook.records._tags import check_tags, current_tags, tagged


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


KEY_SHAPES = [
    "sk-" + "a" * 24,
    "sk-proj-" + "Ab3" * 10,
    "sk-ant-api03-" + "x1Y" * 10,
    "rk-" + "Q" * 20,
    "AIzaSyA" + "b1C2d3E4f5G6h7I8j9K0l1M2n3O4p5Q6r",
    "xai-" + "AbCd1234" * 4,
    "gsk_" + "AbCd1234" * 6,
    "hf_" + "AbCdEfGh" * 4 + "ij",
    "AKIAIOSFODNN7EXAMPLE",
    "ASIAY34FZKBOKMUTVV7A",
    "ghp_" + "A1b2C3d4" * 4 + "e5F6",
    "github_pat_11ABCDEFG0" + "x" * 40,
    "glpat-" + "Ab12Cd34Ef56Gh78Ij90",
    "xoxb-1234567890-" + "a" * 24,
    "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "pplx-" + "a1B2" * 10,
    "r8_" + "Ab12" * 10,
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "Bearer abcdefgh12345",
    "basic dXNlcjpwYXNzd29yZA==",
    "-----BEGIN RSA PRIVATE KEY-----",
    "prefix AKIAIOSFODNN7EXAMPLE suffix",
]


@pytest.mark.parametrize("value", KEY_SHAPES)
def test_common_key_shapes_are_refused(value):
    with pytest.raises(ValueError, match="looks like an API key"):
        check_tags({"v": value})
    with pytest.raises(ValueError, match="looks like an API key"):
        check_tags({value: "v"})


ORDINARY = [
    "u-42", "summaries", "skill-tree", "task-sk-123", "hf_model", "xai-grok", "gsk_demo",
    "AKIA", "akiaiosfodnn7example", "gen-1718039290-AbCdEfGhIjKlMnOpQrSt",
    "chatcmpl-AbC123dEf456GhI789jKl0", "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452",
    "msg_01XFDUDYJgAACzvnptvVoYEL", "req_011CSHoEeqs5C35K2UUqR7Fy", "github", "basic plan",
    "bearer of news", "eyJ", "0123456789abcdef0123456789abcdef",
    "2f1c8a0e-6b7d-4e8f-9a0b-1c2d3e4f5a6b", "openai/gpt-4o-mini", "team-gsk_rollout",
]


@pytest.mark.parametrize("value", ORDINARY)
def test_ordinary_values_are_kept(value):
    assert check_tags({"v": value}) == {"v": value}
