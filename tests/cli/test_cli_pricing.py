import json
import subprocess
import sys
from decimal import Decimal

import pytest

from costbook.cli._main import main
from table_factory import write_one_model_table, write_yaml


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("args", "total"),
    [
        (["--input", "100k", "--output", "10k"], "0.021"),
        (["--input", "1M", "--output", "100k"], "0.21"),
        (["--input", "10M", "--output", "1M"], "2.1"),
        (["--input", "1M", "--cache-read", "1M"], "0.07"),
        (["--input", "1M", "--cache-write", "1M"], "0.15"),
    ],
)
def test_requesty_figures_through_the_cli(capsys, args, total):
    code, out, _ = run(capsys, "estimate", "openai/gpt-4o-mini", "--provider", "requesty",
                       *args, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["total"] == total
    assert Decimal(data["total"]) == Decimal(total)
    assert data["provider"] == "requesty"


@pytest.mark.parametrize(
    ("ref", "args", "total"),
    [
        ("openrouter:openai/gpt-4o-mini", ["--input", "1M"], "0.15"),
        ("openrouter:openai/gpt-4o-mini", ["--output", "1M"], "0.6"),
        ("openrouter:openai/gpt-4o-mini", ["--images", "1000"], "0.217"),
        ("gpt-4o-mini", ["--input", "1M", "--cache-read", "1M"], "0.075"),
        ("gpt-4o-mini", ["--output", "1_000_000"], "0.6"),
    ],
)
def test_openrouter_and_openai_figures_through_the_cli(capsys, ref, args, total):
    code, out, _ = run(capsys, "estimate", ref, *args, "--json")
    assert code == 0
    assert json.loads(out)["total"] == total


def test_human_output_rounds_for_display_only(capsys):
    code, out, _ = run(capsys, "estimate", "gpt-4o-mini", "--input", "1")
    assert code == 0
    assert out.splitlines() == [
        "openai:gpt-4o-mini",
        "  input             $0.00000015",
        "  total             $0.00000015",
    ]


@pytest.mark.parametrize("count", ["1.5M", "100_000", "100k", "12"])
def test_counts_accept_suffixes(capsys, count):
    code, out, _ = run(capsys, "estimate", "gpt-4o-mini", "--input", count, "--json")
    assert code == 0
    expected = {"1.5M": 1_500_000, "100_000": 100_000, "100k": 100_000, "12": 12}[count]
    assert json.loads(out)["usage"]["input_tokens"] == expected


@pytest.mark.parametrize("count", ["lots", "1.5", "-3", "1.2345k"])
def test_bad_counts_exit_2_with_one_line(capsys, count):
    with pytest.raises(SystemExit) as info:
        main(["estimate", "gpt-4o-mini", "--input", count])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "is not a" in err


@pytest.mark.parametrize("command", ["estimate", "compare"])
@pytest.mark.parametrize("count", ["9" * 30 + "b", "9223372036854775808", "9" * 5000,
                                   "1" + "0" * 19 + "k"])
def test_huge_counts_exit_2_with_one_line(capsys, command, count):
    with pytest.raises(SystemExit) as info:
        main([command, "gpt-4o-mini", "--input", count])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "more than the largest count, 9223372036854775807" in err


def test_the_largest_count_is_priced(capsys):
    code, out, _ = run(capsys, "estimate", "gpt-4o-mini", "--input", "9223372036854775807",
                       "--json")
    assert code == 0 and json.loads(out)["usage"]["input_tokens"] == 2**63 - 1


def test_unknown_model_exits_2_with_suggestions(capsys):
    code, out, err = run(capsys, "estimate", "gpt-4o-mnii", "--input", "10")
    assert code == 2
    assert out == ""
    assert err.startswith("costbook: error: unknown model 'gpt-4o-mnii'; closest known: gpt-4o-mini")
    assert len(err.strip().splitlines()) == 1


def test_inconsistent_usage_exits_2(capsys):
    code, _, err = run(capsys, "estimate", "gpt-4o-mini", "--input", "10", "--cache-read", "20")
    assert code == 2
    assert "cache_read_tokens (20) is larger than input_tokens (10)" in err


def test_at_picks_the_price_date(capsys):
    code, _, err = run(capsys, "estimate", "gpt-4o-mini", "--input", "10", "--at", "2020-01-01")
    assert code == 2
    assert "no price in force on 2020-01-01" in err


def test_models_lists_refs_with_rates(capsys):
    code, out, _ = run(capsys, "models", "--provider", "requesty", "--json")
    assert code == 0
    rows = json.loads(out)
    mini = next(r for r in rows if r["id"] == "openai/gpt-4o-mini")
    assert mini["rates_per_million"] == {
        "input": "0.15", "output": "0.6", "cache_read": "0.07", "cache_write": "0.15",
        "reasoning": "0.6",
    }
    assert mini["context_window"] == 128000


def test_models_table(capsys):
    code, out, _ = run(capsys, "models", "--provider", "requesty")
    assert code == 0
    assert "requesty:openai/gpt-4o-mini" in out
    assert "128,000" in out


def test_models_unknown_provider(capsys):
    code, _, err = run(capsys, "models", "--provider", "nope")
    assert code == 2
    assert "unknown provider 'nope'" in err


def test_compare_cheapest_first(capsys):
    code, out, _ = run(capsys, "compare", "gpt-4o-mini", "--input", "1M", "--cache-read", "1M",
                       "--json")
    assert code == 0
    rows = json.loads(out)
    priced = [r for r in rows if r["total"] is not None]
    totals = [Decimal(r["total"]) for r in priced]
    assert totals == sorted(totals)
    assert priced[0]["provider"] == "requesty" and priced[0]["total"] == "0.07"
    # GitHub Copilot includes gpt-4o-mini in its plans: listed last, apart, never as $0
    assert rows[-1] == {"provider": "github-copilot", "model": "gpt-4o-mini", "total": None,
                        "unpriced": "included in a github-copilot plan: no per-token price"}


def test_check_passes_on_bundled_tables(capsys):
    code, out, _ = run(capsys, "check")
    assert code == 0
    assert out.startswith("ok: ")


def test_check_fails_with_a_message_per_problem(capsys, tmp_path):
    write_yaml(tmp_path / "a.yaml", "provider: a\nname: A\npricing_url: https://a\nmodels: [{id: m}]\n")
    code, _, err = run(capsys, "check", str(tmp_path))
    assert code == 1
    assert "FAIL" in err and "a.yaml: model m: a model gives its prices, or follows another with same_as" in err


def test_schema_prints_json_schema(capsys):
    code, out, _ = run(capsys, "schema")
    assert code == 0
    assert json.loads(out)["title"] == "costbook pricing table"


def test_the_command_runs_from_any_directory(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "costbook", "estimate", "openai/gpt-4o-mini",
         "--provider", "requesty", "--input", "100k", "--output", "10k", "--json"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total"] == "0.021"


def test_models_says_where_each_entry_came_from(capsys, tmp_path, monkeypatch):
    from costbook.pricing._catalog import reset

    write_one_model_table(tmp_path / "mine.yaml", provider="requesty", model="acme/tuned-1")
    monkeypatch.setenv("COSTBOOK_PRICING_PATH", str(tmp_path))
    reset()
    try:
        code, out, _ = run(capsys, "models", "--provider", "requesty")
        assert code == 0
        lines = {line.split()[0]: line for line in out.splitlines()[2:]}
        assert lines["requesty:acme/tuned-1"].endswith(str(tmp_path / "mine.yaml"))
        assert lines["requesty:openai/gpt-4o-mini"].endswith("bundled")
        code, out, _ = run(capsys, "models", "--provider", "requesty", "--json")
        assert code == 0
        rows = {r["id"]: r for r in json.loads(out)}
        assert rows["acme/tuned-1"]["bundled"] is False
        assert rows["openai/gpt-4o-mini"]["bundled"] is True
    finally:
        monkeypatch.delenv("COSTBOOK_PRICING_PATH")
        reset()


def test_check_of_a_folder_without_tables_exits_2(capsys, tmp_path):
    code, out, err = run(capsys, "check", str(tmp_path))
    assert (code, out) == (2, "")
    assert err == f"costbook: error: no pricing tables (*.yaml, *.yml, *.json) in {tmp_path}; give table files, or folders that hold them\n"


def test_estimate_images_of_a_model_billing_them_as_tokens_exits_2(capsys):
    code, out, err = run(capsys, "estimate", "gpt-4o", "--input", "1000", "--images", "3")
    assert (code, out) == (2, "")
    assert err.startswith("costbook: error: openai:gpt-4o bills input images as input tokens")
    assert "--image WxH" in err


def test_estimate_image_sizes_add_their_tokens_to_the_input(capsys):
    code, out, _ = run(capsys, "estimate", "gpt-4o", "--input", "1000",
                       "--image", "1024x1024", "--image", "512x512", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["usage"]["input_tokens"] == 1000 + 765 + 255
    assert data["usage"]["images"] == 0
    assert Decimal(data["total"]) == Decimal(2020) * Decimal("2.5") / 1_000_000


def test_estimate_image_sizes_at_a_provider_billing_per_image_count_images(capsys):
    code, out, _ = run(capsys, "estimate", "openai/gpt-4o-mini", "--provider", "openrouter",
                       "--input", "1000", "--image", "1024x1024", "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["usage"]["input_tokens"], data["usage"]["images"]) == (1000, 1)
    assert data["items"]["image"] == "0.000217"


@pytest.mark.parametrize("size", ["1024", "0x10", "axb", "10x"])
def test_a_bad_image_size_exits_2(capsys, size):
    with pytest.raises(SystemExit) as exited:
        main(["estimate", "gpt-4o", "--image", size])
    assert exited.value.code == 2
    assert f"{size!r} is not an image size; write it as WIDTHxHEIGHT, like 1024x768" in capsys.readouterr().err


def test_compare_shows_a_row_for_a_provider_that_cannot_price_a_part(capsys):
    code, out, err = run(capsys, "compare", "gpt-4o-mini", "--input", "1M", "--images", "2")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["provider", "model", "total", "note"]
    assert lines[2].split()[:3] == ["openrouter", "openai/gpt-4o-mini", "$0.1504"]
    unpriced = {line.split()[0]: line for line in lines[3:]}
    assert unpriced["openai"].split()[:4] == ["openai", "gpt-4o-mini", "-", "openai:gpt-4o-mini"]
    assert "bills input images as input tokens" in unpriced["openai"]
    assert unpriced["requesty"].split()[:3] == ["requesty", "openai/gpt-4o-mini", "-"]
    assert "included in a github-copilot plan" in unpriced["github-copilot"]


def test_compare_json_marks_what_cannot_be_priced(capsys):
    code, out, _ = run(capsys, "compare", "gpt-4o-mini", "--input", "1M", "--images", "2",
                       "--json")
    assert code == 0
    rows = json.loads(out)
    assert (rows[0]["provider"], rows[0]["total"]) == ("openrouter", "0.150434")
    unpriced = {r["provider"]: r["unpriced"] for r in rows[1:]}
    assert [r["total"] for r in rows[1:]] == [None] * len(unpriced)
    assert set(unpriced) >= {"openai", "requesty"}
    assert "image_tokens" in unpriced["openai"]


@pytest.mark.parametrize("argv", [
    ["compare", "gpt-4o-mini", "--input", "1M", "--at", "2024-07-01"],
    ["models", "--at", "2020-01-01"],
])
def test_nothing_in_force_on_the_date_says_so_with_exit_1(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert (code, out) == (1, "")
    assert err.startswith("costbook: nothing had a price in force on ")
    assert "2020-01-01" in err or "2024-07-01" in err


def test_models_at_a_date_lists_what_had_a_price_then_and_leaves_out_the_rest(capsys):
    code, out, err = run(capsys, "models", "--at", "2024-08-01", "--json")
    assert (code, err) == (0, "")
    refs = {m["ref"] for m in json.loads(out)}
    assert "openai:gpt-4o-mini" in refs
    assert "anthropic:claude-3-5-haiku-20241022" not in refs  # priced from 2024-11-04
    assert all(m["effective"] <= "2024-08-01" for m in json.loads(out))


def test_estimate_names_the_prompt_tier_and_the_service_tier(capsys):
    code, out, _ = run(capsys, "estimate", "claude-sonnet-4-5", "--input", "300k", "--output",
                       "10k")
    assert code == 0
    assert out.splitlines()[0] == (
        "anthropic:claude-sonnet-4-5-20250929 (prompt above 200000 tokens)")
    assert out.splitlines()[-1].split() == ["total", "$2.0250"]
    code, out, _ = run(capsys, "estimate", "gpt-4o-mini", "--input", "1M", "--output", "1M",
                       "--service-tier", "batch", "--json")
    data = json.loads(out)
    assert (code, data["total"], data["service_tier"]) == (0, "0.375", "batch")


def test_a_service_tier_the_model_lacks_exits_2_naming_the_ones_it_has(capsys):
    code, _, err = run(capsys, "estimate", "gpt-4o-mini", "--input", "1M", "--service-tier",
                       "turbo")
    assert code == 2
    assert err.startswith("costbook: error: openai:gpt-4o-mini has no service tier 'turbo'; "
                          "it has standard, batch")


def test_estimate_prices_web_searches_and_audio(capsys):
    code, out, _ = run(capsys, "estimate", "claude-sonnet-4-5", "--input", "10k",
                       "--web-searches", "3", "--json")
    assert code == 0 and json.loads(out)["items"] == {"input": "0.03", "web_search": "0.03"}
    code, out, _ = run(capsys, "estimate", "gpt-audio", "--input", "1M", "--audio-input",
                       "1M", "--output", "1M", "--audio-output", "500k", "--json")
    assert code == 0
    assert json.loads(out)["items"] == {"audio_input": "32", "output": "5", "audio_output": "32"}


def test_models_lists_a_providers_tiers(capsys):
    code, out, _ = run(capsys, "models", "--provider", "anthropic", "--json")
    assert code == 0
    sonnet = next(m for m in json.loads(out) if m["id"] == "claude-sonnet-4-5-20250929")
    assert sonnet["service_tiers"] == ["standard", "batch"]
    assert sonnet["prompt_tiers"][0]["threshold"] == "above 200000"
    assert sonnet["per_web_search"] == "0.01"


def test_a_breakdown_shown_adds_up_to_its_total(capsys):
    code, out, _ = run(capsys, "estimate", "claude-sonnet-4-5", "--input", "1k",
                       "--cache-write", "10")
    assert code == 0
    # rounded to 4 places the parts would show $0.0030 + $0.0000375 = $0.0030: all exact
    assert out.splitlines()[1:] == [
        "  input                $0.00297",
        "  cache_write        $0.0000375",
        "  total              $0.0030075",
    ]


def test_uncached_input_follows_anthropics_convention(capsys):
    code, out, _ = run(capsys, "estimate", "claude-sonnet-4-5", "--uncached-input", "150k",
                       "--cache-read", "100k", "--json")
    assert code == 0
    cost = json.loads(out)
    assert cost["usage"]["input_tokens"] == 250_000 and cost["usage"]["cache_read_tokens"] \
        == 100_000
    # 250K input passes the 200K long-context threshold: $6/M input, $0.60/M cache reads
    assert cost["items"] == {"input": "0.9", "cache_read": "0.06"}
    code, out, _ = run(capsys, "estimate", "claude-sonnet-4-5", "--input", "150k",
                       "--cache-read", "100k", "--json")
    assert json.loads(out)["usage"]["input_tokens"] == 150_000


def test_input_and_uncached_input_together_are_refused_naming_both(capsys):
    code, out, err = run(capsys, "estimate", "claude-sonnet-4-5", "--uncached-input", "1k",
                         "--input", "1k")
    assert code == 2 and out == ""
    assert "--input" in err and "--uncached-input" in err and len(err.splitlines()) == 1


def test_help_says_which_convention_each_input_option_follows(capsys):
    with pytest.raises(SystemExit):
        main(["estimate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--input N all input tokens, cache reads and writes included (OpenAI's" in text
    assert "--uncached-input N input tokens excluding cache reads and writes (Anthropic's" \
        in text


def test_compare_and_estimate_take_a_time_and_say_which_window_applied(capsys):
    # a Monday: 02:00 UTC is DeepSeek's peak, 12:00 UTC is not
    code, out, _ = run(capsys, "estimate", "deepseek:deepseek-v4-pro", "--input", "1M",
                       "--at", "2026-12-07T02:00")
    assert code == 0
    assert out.splitlines()[-2:] == ["  total                 $1.3200",
                                     "  time window: peak (mon-fri 01:00-04:00 UTC)"]
    code, out, _ = run(capsys, "compare", "deepseek-v4-pro", "--input", "1M",
                       "--at", "2026-12-07T12:00", "--json")
    own = next(r for r in json.loads(out) if r["provider"] == "deepseek")
    assert (own["total"], own["time_window"]) == (
        "0.66", "outside peak (mon-fri 01:00-04:00, 06:00-10:00 UTC)")
    with pytest.raises(SystemExit) as exited:
        main(["compare", "deepseek-v4-pro", "--at", "7 Dec"])
    assert exited.value.code == 2
    assert ("'7 Dec' is not a time; write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)"
            in capsys.readouterr().err)


def test_compare_leaves_retired_models_out_unless_asked_and_estimate_says_retired(capsys):
    code, out, _ = run(capsys, "compare", "kimi-k2", "--input", "1M", "--json")
    current = {(r["provider"], r["model"]) for r in json.loads(out)} if code == 0 else set()
    code, out, _ = run(capsys, "compare", "kimi-k2", "--input", "1M", "--include-retired",
                       "--json")
    assert code == 0
    everything = json.loads(out)
    retired = [r for r in everything if "retired" in r.get("note", "")]
    assert ("moonshot", "kimi-k2") in {(r["provider"], r["model"]) for r in retired}
    assert not current & {(r["provider"], r["model"]) for r in retired}
    code, out, _ = run(capsys, "estimate", "moonshot:kimi-k2", "--input", "1M")
    assert out.splitlines()[-1].startswith("  note: moonshot:kimi-k2 was retired by the "
                                           "provider on ")


def test_models_shows_retirement_and_billing(capsys):
    code, out, _ = run(capsys, "models", "--provider", "github-copilot", "--json")
    rows = {r["id"]: r for r in json.loads(out)}
    assert (rows["gpt-4.1"]["billing"], rows["gpt-4.1"]["rates_per_million"]) == ("included", {})
    code, out, _ = run(capsys, "models", "--provider", "moonshot")
    assert code == 0
    line = next(x for x in out.splitlines() if x.startswith("moonshot:kimi-k2 "))
    assert "retired 20" in line
