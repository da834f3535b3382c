"""Numbers and values as the tree shows them."""

from __future__ import annotations

from inspector.gui.formatting import human_size, short_count, thousands, value_text


def test_sizes_and_counts_read_like_a_file_manager():
    assert [human_size(n) for n in (0, 1023, 1024, 1536, 5 * 2**20, 3 * 2**30)] == \
        ["0 B", "1023 B", "1.0 KiB", "1.5 KiB", "5.0 MiB", "3.0 GiB"]
    assert thousands(11689512) == "11,689,512"
    assert short_count(11689512) == "11.7 M" and short_count(999) == "999"


def test_values_stay_on_one_bounded_line():
    assert value_text("a\nb") == "'a\\nb'"
    assert len(value_text("x" * 10_000)) == 200
    assert value_text(b"\x00" * 7) == "<7 bytes>"
    assert value_text(10**5000) == "<int of 16610 bits>"  # repr would be refused past 4300 digits
    assert value_text(0.1) == "0.1" and value_text(None) == "None"
