from datetime import date
from decimal import Decimal

from costbook.pricing._bundle import bundled_pricing_dir
from costbook.pricing._diff import RateChange, diff_tables, load_tables
from table_factory import REPO_PRICING, catalog_of, model_entry, table_data


def test_identical_tables_have_no_differences():
    result = diff_tables([bundled_pricing_dir()], [bundled_pricing_dir()])
    assert result.empty and not result.has_increase


def test_added_removed_and_changed():
    old = catalog_of(table_data("acme", model_entry(), model_entry(id="old-1", aliases=[])))
    new = catalog_of(table_data("acme", model_entry(
        prices=[{"effective": "2025-01-01", "input": "1.5", "output": "1"}]),
        model_entry(id="new-1", aliases=[])))
    result = diff_tables(old, new, at=date(2025, 6, 1))
    assert result.added == ["acme:new-1"]
    assert result.removed == ["acme:old-1"]
    assert result.changed == [
        RateChange("acme:tiny-1", "input", Decimal("1"), Decimal("1.5")),
        RateChange("acme:tiny-1", "output", Decimal("2"), Decimal("1")),
    ]
    assert [c.change for c in result.changed] == ["+50%", "-50%"]
    assert result.has_increase


def test_a_new_rate_counts_as_an_increase():
    old = catalog_of(table_data("acme", model_entry()))
    new = catalog_of(table_data("acme", model_entry(
        prices=[{"effective": "2025-01-01", "input": "1", "output": "2", "per_request": "0.01"}])))
    [change] = diff_tables(old, new).changed
    assert change.change == "added" and change.is_increase


def test_load_tables_reads_only_the_given_files():
    tables = load_tables([REPO_PRICING / "requesty.yaml"])
    assert {m.provider for m in tables.models} == {"requesty"}
