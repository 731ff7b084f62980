"""write_table: the CSV is the text pandas would write, whatever the values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from custseg.outputs import write_table


def test_csv_equals_pandas_to_csv_on_awkward_values(tmp_path):
    frame = pd.DataFrame(
        {
            "customer_id": pd.array(["a", 'quote " inside', "comma, inside", "line\nbreak", None, "ünïcødé"], dtype="string"),
            "count": pd.array([1, None, 3, 4, 5, -6], dtype="Int64"),
            "small": pd.array([1, 2, None, 4, 5, 6], dtype="Int32"),
            "share": [0.1, 1 / 3, np.nan, 1e-20, 123456789.125, -0.0],
            "whole_float": [1.0, 2.0, 3.0, 0.0, 1e16, 2.5],
            "when": pd.to_datetime(["2017-01-01 10:00:00", "2018-08-31 23:59:59", None, "2016-09-04 21:15:19",
                                    "2017-06-30 00:00:00", "2018-01-01 08:39:15"]),
            "plain_int": np.arange(6, dtype=np.int64),
        }
    )
    write_table(frame, tmp_path, "t")
    expected = frame.to_csv(index=False, date_format="%Y-%m-%d %H:%M:%S", lineterminator="\n")
    assert (tmp_path / "t.csv").read_text(encoding="utf-8") == expected
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), frame, check_dtype=False)


def test_categorical_text_writes_the_plain_text(tmp_path):
    """The customer table's segments are pandas categories: the same CSV bytes as plain text, and
    the same values from Parquet (which may keep them dictionary-encoded)."""
    text = pd.array(["Lost", 'quote " inside', "comma, inside", None, "ünïcødé", "Lost"], dtype="str")
    plain = pd.DataFrame({"customer_id": list("abcdef"), "segment": text})
    categorical = plain.assign(segment=plain["segment"].astype(pd.CategoricalDtype(sorted(set(text.dropna())) + ["unused"])))
    for name, frame in (("plain", plain), ("categorical", categorical)):
        (tmp_path / name).mkdir()
        write_table(frame, tmp_path / name, "t")
    assert (tmp_path / "categorical" / "t.csv").read_bytes() == (tmp_path / "plain" / "t.csv").read_bytes()
    got = pd.read_parquet(tmp_path / "categorical" / "t.parquet")
    pd.testing.assert_frame_equal(got.astype({"segment": "str"}), pd.read_parquet(tmp_path / "plain" / "t.parquet"))


def test_csv_written_in_parts_equals_one_copy(tmp_path, monkeypatch):
    """Row ranges written side by side and joined: the bytes of one COPY of the whole frame."""
    import custseg.outputs as outputs

    rng = np.random.default_rng(3)
    n = 1001
    frame = pd.DataFrame({
        "customer_id": [f"c{i:05d}" for i in range(n)],
        "segment": pd.Categorical(rng.choice(["Lost", "comma, inside", 'quote " x'], n)),
        "value": rng.normal(size=n) * 1e3,
        "count": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 9, n)), dtype="Int64"),
    })
    for name, part_rows, threads in (("one", 10**9, 1), ("parts", 97, 3)):
        monkeypatch.setattr(outputs, "CSV_PART_ROWS", part_rows)
        (tmp_path / name).mkdir()
        write_table(frame, tmp_path / name, "t", threads=threads)
    assert (tmp_path / "parts" / "t.csv").read_bytes() == (tmp_path / "one" / "t.csv").read_bytes()
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == ["t.csv", "t.parquet"]  # no part left behind
    expected = frame.to_csv(index=False, lineterminator="\n")
    assert (tmp_path / "parts" / "t.csv").read_text(encoding="utf-8") == expected


def test_parquet_written_a_row_group_at_a_time_is_pandas_own_file(tmp_path):
    """Above one row group the customer table is converted to Arrow a group at a time (issue 24):
    the file must be the very bytes DataFrame.to_parquet writes."""
    import numpy as np
    import pandas as pd

    from custseg.outputs import PARQUET_ROW_GROUP, write_parquet

    n = PARQUET_ROW_GROUP * 2 + 123
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "customer_id": pd.array(np.char.add("c", np.arange(n).astype(str)), dtype="str"),
        "monetary": rng.random(n),
        "cluster_all": pd.array(rng.integers(0, 5, n), dtype="Int64"),
        "rfm_segment": pd.Categorical.from_codes(rng.integers(-1, 7, n), categories=list("abcdefg")),
        "first_purchase_ts": pd.to_datetime(rng.integers(1.5e9, 1.6e9, n), unit="s").astype("datetime64[us]"),
    })
    frame.attrs["kind"] = "customers"
    frame.to_parquet(tmp_path / "pandas.parquet", index=False)
    write_parquet(frame, tmp_path / "ours.parquet")
    assert (tmp_path / "ours.parquet").read_bytes() == (tmp_path / "pandas.parquet").read_bytes()
    # the same table given as parts (clusters.parquet: one frame per population), row groups across them
    cuts = [0, 700_000, 700_001, PARQUET_ROW_GROUP + 5, n]
    parts = [frame.iloc[a:b].reset_index(drop=True) for a, b in zip(cuts, cuts[1:])]
    for part in parts:
        part.attrs = dict(frame.attrs)
    write_parquet(parts, tmp_path / "parts.parquet")
    assert (tmp_path / "parts.parquet").read_bytes() == (tmp_path / "pandas.parquet").read_bytes()


def test_positions_of_checks_every_id_in_parts(monkeypatch):
    """A population's rows are placed by their labels only when every id checks out, also past
    the first part of the ids compared (custseg.result.ID_CHECK_ROWS at a time)."""
    import numpy as np

    import custseg.result as result

    monkeypatch.setattr(result, "ID_CHECK_ROWS", 3)
    table = pd.DataFrame({"customer_id": pd.array([f"c{i:02d}" for i in range(10)], dtype="str")})
    labels = np.array([1, 2, 4, 5, 7, 8, 9])
    ids = table["customer_id"].iloc[labels].reset_index(drop=True)
    assert result.positions_of(table, labels, ids).tolist() == labels.tolist()
    wrong = ids.copy()
    wrong.iloc[5] = "c00"  # in the second part of three
    assert result.positions_of(table, labels, wrong) is None
    assert result.positions_of(table, np.array([1, 2, 40]), ids.iloc[:3]) is None  # a label past the table
