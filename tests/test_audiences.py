"""Audience files (custseg.audiences): one CSV per cluster and RFM segment, their manifest, the
tools' import layouts, contacts kept out of everything else, and `custseg assign`'s audiences.

A hand-made order log with contact columns (the real Olist data has none): 160 customers, 1-4
orders each, with contacts written the ways people type them (upper case, spaces, phones with
and without + country code) and changed between orders (the latest order's value counts).
Expected hashes and E.164 numbers are computed here, independently of custseg: hashlib on the
hand-normalised text, phone numbers typed in by hand.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import custseg
from custseg.audiences import AudienceSettings, Grouping, audience_frames, file_name, plan_audiences, rounded, slug
from custseg.audiences.contacts import country_code, e164
from custseg.errors import InputError

MAP = ("customer=Customer,order=Order,timestamp=Date,amount=Total,product=Product,"
       "email=E-mail,phone=Phone,first_name=First,last_name=Last,zip=Zip,country=Country")
N = 160

# Per customer c: the contacts of their LATEST order (what the audience files must carry), and
# older orders' values that must not win. The markers (zqmark, Qxmark) occur in no text of custseg's.
FIRST = ["  ANA  ", "João", "MARIA LUÍSA", " Pedro", "Zoë "]
LAST = ["Silva ", "  SOUZA", "de Costa", "LIMA", "Pérez"]


def latest_contacts(c: int) -> dict[str, str]:
    """The contact values as written on customer c's latest order."""
    if c % 4 == 0:  # a Brazilian mobile without + country code: read in the customer's country (BR)
        phone, country = f"(11) 9{c:04d}-{c % 10000:04d}", "Brazil"
    elif c % 4 == 1:  # already with + and spaces
        phone, country = f"+44 20 7946 {c:04d}", "GB"
    elif c % 4 == 2:  # digits only, no +: read in --phone-country (US); country given as a code in lower case
        phone, country = f"415555{c:04d}", "us"
    else:
        phone, country = "", "BR"
    return {
        "E-mail": "" if c % 10 == 7 else f"  ZQMARK.User{c}@Example.COM ",
        "Phone": phone, "First": FIRST[c % 5] + ("" if c % 3 else f" Qxmark{c}"), "Last": LAST[c % 5],
        "Zip": f" {c:05d}-{c % 1000:03d} ", "Country": country,
    }


def expected_e164(c: int) -> str:
    """Typed by hand from the rules of E.164: + country code, then the national number's digits."""
    if c % 4 == 0:
        return f"+55119{c:04d}{c % 10000:04d}"
    if c % 4 == 1:
        return f"+44207946{c:04d}"
    if c % 4 == 2:
        return f"+1415555{c:04d}"
    return ""


def write_log(path: Path) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = []
    for c in range(N):
        n = int(rng.choice([1, 1, 2, 3, 4]))
        days = sorted(rng.choice(600, size=n, replace=False))
        for o, day in enumerate(days):
            latest = o == n - 1
            contacts = latest_contacts(c)
            if not latest:  # older orders: other values, which must not win
                contacts = {**contacts, "E-mail": f"old.zqmark{c}@example.org", "First": "Oldname", "Zip": "99999"}
            if c % 10 == 7 and not latest:
                contacts["E-mail"] = ""  # never an e-mail
            rows.append({"Customer": f"K{c:03d}", "Order": f"O{c:03d}-{o}",
                         "Date": (pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(day), hours=int(rng.integers(0, 24)))).strftime("%Y-%m-%d %H:%M"),
                         "Total": round(float(rng.lognormal(4, 0.7)), 2), "Product": f"P{int(rng.integers(0, 25))}", **contacts})
    log = pd.DataFrame(rows)
    log.to_csv(path, index=False)
    return log


@pytest.fixture(scope="module")
def log(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("audience-log") / "shop.csv"
    write_log(path)
    return path


@pytest.fixture(scope="module")
def plain(log, tmp_path_factory):
    """A run with the default format (plain), its progress lines kept."""
    out = tmp_path_factory.mktemp("plain") / "out"
    lines: list[str] = []
    result = custseg.run(log, out=out, mapping=MAP, slides=False, progress=lines.append)
    return result, out, lines


@pytest.fixture(scope="module")
def google(log, tmp_path_factory):
    out = tmp_path_factory.mktemp("google") / "out"
    result = custseg.run(log, out=out, mapping=MAP, slides=False, audience_format="google-customer-match", phone_country="US")
    return result, out


def manifest(out: Path) -> dict:
    return json.loads((out / "audiences" / "audiences.json").read_text(encoding="utf-8"))


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# ----------------------------------------------------------------------------- plain files


def test_files_add_up_to_each_population(plain):
    result, out, _ = plain
    entries = manifest(out)["audiences"]
    for pop in result.populations:
        mine = [e for e in entries if e["population"] == pop.name]
        assert len(mine) == pop.k
        assert sum(e["customers"] for e in mine) == pop.n_customers
        assert sum(len(read(out / "audiences" / e["file"])) for e in mine) == pop.n_customers
    customers = read(out / "customers.csv")
    scored = customers[customers["rfm_segment"] != ""]
    rfm = [e for e in entries if e["population"] == "rfm"]
    assert sum(e["customers"] for e in rfm) == len(scored) == result.summary["converted_customers"]
    assert {e["segment"] for e in rfm} == set(scored["rfm_segment"])


def test_every_customer_of_a_segment_is_in_its_file_once(plain):
    result, out, _ = plain
    clusters = read(out / "clusters.csv")
    customers = read(out / "customers.csv")
    for entry in manifest(out)["audiences"]:
        rows = read(out / "audiences" / entry["file"])
        assert rows["customer_id"].is_unique
        assert len(rows) == entry["customers"]
        if entry["population"] == "rfm":
            wanted = customers.loc[customers["rfm_segment"] == entry["segment"], "customer_id"]
        else:
            mine = clusters[(clusters["population"] == entry["population"]) & (clusters["cluster"] == str(entry["segment"]))]
            wanted = mine["customer_id"]
            assert set(mine["cluster_name"]) == {entry["name"]} == set(rows["segment_name"])
        assert sorted(rows["customer_id"]) == sorted(wanted)
        assert list(rows["customer_id"]) == sorted(rows["customer_id"])  # by customer id
        assert (rows["segment"] == str(entry["segment"])).all()


def test_plain_files_carry_metrics_action_and_the_latest_orders_contacts(plain):
    result, out, _ = plain
    customers = read(out / "customers.csv").set_index("customer_id")
    entry = next(e for e in manifest(out)["audiences"] if e["population"] == "all")
    rows = read(out / "audiences" / entry["file"])
    assert list(rows.columns) == ["customer_id", "population", "segment", "segment_name", "recency", "frequency", "monetary",
                                  "rfm_score", "rfm_segment", "p_alive", "expected_purchases", "expected_revenue", "suggested_action",
                                  "email", "phone", "first_name", "last_name", "zip", "country"]
    overview = next(p for p in result.populations if p.name == "all").overview.set_index("cluster")
    assert (rows["suggested_action"] == overview.loc[entry["segment"], "action"]).all()
    assert entry["suggested_action"] == overview.loc[entry["segment"], "action"]
    for _, row in rows.iterrows():
        c = int(row["customer_id"][1:])
        given = latest_contacts(c)
        assert row["email"] == given["E-mail"].strip()  # as given, trimmed: the latest order's (older ones differ)
        assert row["first_name"] == " ".join(given["First"].split())
        assert row["zip"] == given["Zip"].strip()
        assert int(row["recency"]) == int(float(customers.loc[row["customer_id"], "recency"]))
        got, given_p = (pd.to_numeric(v or None, errors="coerce") for v in (row["p_alive"], customers.loc[row["customer_id"], "p_alive"]))
        assert (pd.isna(got) and pd.isna(given_p)) or abs(got - given_p) <= 5e-4  # rounded to 3 decimals
        assert float(row["monetary"]) == pytest.approx(float(customers.loc[row["customer_id"], "monetary"]), abs=0.005)
    assert entry["revenue"] == pytest.approx(sum(float(customers.loc[i, "monetary"]) for i in rows["customer_id"]), abs=0.01)


def test_no_contact_value_in_report_summary_tables_or_progress(plain):
    _, out, lines = plain
    audiences = "".join(p.read_text(encoding="utf-8") for p in (out / "audiences").glob("*.csv"))
    assert "ZQMARK.User0@Example.COM" in audiences and "Qxmark3" in audiences  # they are in the audience files...
    markers = re.compile(r"zqmark|qxmark|oldname|\(11\) 9|@example\.(com|org)", re.IGNORECASE)
    for name in ("report.html", "summary.json", "customers.csv", "clusters.csv", "excluded.csv"):
        text = (out / name).read_text(encoding="utf-8")
        assert not markers.search(text), name  # ...and nowhere else
    assert not markers.search(pd.read_parquet(out / "customers.parquet").to_csv())
    assert not markers.search("\n".join(lines))
    assert not markers.search((out / "audiences" / "audiences.json").read_text(encoding="utf-8"))
    assert "email" not in read(out / "customers.csv").columns


def test_report_links_every_audience_file_with_its_count(plain):
    _, out, _ = plain
    html = (out / "report.html").read_text(encoding="utf-8")
    links = dict(re.findall(r'<a class="file" href="(audiences/[^"]+)"[^>]*>CSV · ([\d,]+)</a>', html))
    entries = manifest(out)["audiences"]
    assert len(links) == len(entries)
    for entry in entries:
        href = f"audiences/{entry['file']}"
        assert links[href] == f"{entry['customers']:,}"
        assert (out / href).is_file()  # relative to report.html: works from the folder opened locally
        assert re.fullmatch(r"[a-z0-9-]+\.csv", entry["file"])


# ----------------------------------------------------------------------------- import layouts


def test_google_customer_match_is_hashed_as_googles_documentation_says(google):
    _, out = google
    m = manifest(out)
    assert m["import_format"] == "Google Customer Match"
    assert not any(p.name for p in (out / "audiences").glob("*.csv") if "@" in p.read_text(encoding="utf-8"))  # plain files: ids only
    checked = 0
    for entry in m["audiences"]:
        ids = read(out / "audiences" / entry["file"])["customer_id"]
        rows = read(out / "audiences" / entry["import_file"])
        assert list(rows.columns) == ["Email", "Phone", "First Name", "Last Name", "Country", "Zip"]
        expected = []
        for customer in ids:
            c = int(customer[1:])
            given = latest_contacts(c)
            email = given["E-mail"].strip().lower()
            phone = expected_e164(c)
            sha = lambda text: hashlib.sha256(text.encode("utf-8")).hexdigest() if text else ""  # noqa: E731
            first, last = " ".join(given["First"].split()).lower(), " ".join(given["Last"].split()).lower()
            country = {"Brazil": "BR", "GB": "GB", "us": "US", "BR": "BR"}[given["Country"]]
            expected.append((sha(email), sha(phone), sha(first), sha(last), country, given["Zip"].strip()))
        assert sorted(map(tuple, rows.to_numpy().tolist())) == sorted(expected)  # every customer has a name + country + zip
        assert entry["import_rows"] == len(rows) == entry["customers"]
        checked += len(rows)
    assert checked > 2 * N  # all, repeat champions and RFM files


def test_google_hash_of_a_hand_made_contact():
    """One contact, normalised by custseg and hashed, against hashlib on the text normalised by hand."""
    from custseg.audiences.contacts import normal_email, sha256_hex

    assert sha256_hex(normal_email("  ZQ.User4@Example.COM ")) == hashlib.sha256(b"zq.user4@example.com").hexdigest()
    assert e164("(11) 90004-0004", "BR") == "+5511900040004"
    assert e164("4155550002", "US") == "+14155550002"
    assert e164("+44 20 7946 0001", None) == "+442079460001"
    assert e164("4155550002", None) is None  # no + and no country: the caller refuses
    assert e164("12", "BR") == ""  # not a phone number
    assert country_code("United Kingdom") == "GB" and country_code("br") == "BR" and country_code("Narnia") == ""


@pytest.mark.parametrize("fmt, header", [
    ("klaviyo", ["Email", "Phone Number", "First Name", "Last Name", "Zip Code", "Country", "custseg audience"]),
    ("mailchimp", ["Email Address", "First Name", "Last Name", "Phone Number", "Zip Code", "Country", "Tags"]),
])
def test_klaviyo_and_mailchimp_layouts(log, tmp_path, fmt, header):
    out = tmp_path / "out"
    result = custseg.run(log, out=out, mapping=MAP, slides=False, report=False, audience_format=fmt, phone_country="US")
    m = manifest(out)
    entry = next(e for e in m["audiences"] if e["population"] == "all")
    rows = read(out / "audiences" / entry["import_file"])
    assert list(rows.columns) == header
    ids = read(out / "audiences" / entry["file"])["customer_id"]
    with_email = [i for i in ids if int(i[1:]) % 10 != 7]
    if fmt == "mailchimp":  # an e-mail is required: customers without one are left out
        assert len(rows) == len(with_email) < len(ids)
    else:  # e-mail or phone: only customers with neither are left out
        assert len(rows) == sum(1 for i in ids if int(i[1:]) % 10 != 7 or int(i[1:]) % 4 != 3)
    assert set(rows[header[0]]) - {""} == {latest_contacts(int(i[1:]))["E-mail"].strip().lower() for i in with_email}
    title = next(p.title for p in result.populations if p.name == "all")
    assert set(rows[header[-1]]) == {f"{title}: {entry['name']}"}
    first = {" ".join(latest_contacts(int(i[1:]))["First"].split()) for i in ids}
    assert set(rows["First Name"]) <= first  # names keep their case for a greeting


# ----------------------------------------------------------------------------- refusals and settings


def test_a_format_that_needs_a_contact_refuses_in_one_line(log, tmp_path, run_cli):
    out = tmp_path / "out"
    result = run_cli("run", "--data", log, "--out", out, "--no-slides", "--audience-format", "mailchimp",
                     "--map", "customer=Customer,order=Order,timestamp=Date,amount=Total,phone=Phone")
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("custseg: error: --audience-format mailchimp: Mailchimp needs each customer's e-mail")
    assert "email=COLUMN" in result.stderr
    assert not out.exists()
    from custseg.data import olist_folder

    olist = run_cli("run", "--data", olist_folder(), "--out", out, "--audience-format", "klaviyo")
    assert olist.exit_code == 2 and "the Olist data has no such column" in olist.stderr and not out.exists()


def test_phones_without_country_code_need_phone_country(log, tmp_path, run_cli):
    result = run_cli("run", "--data", log, "--out", tmp_path / "out", "--audience-format", "klaviyo", "--quiet",
                     "--map", "customer=Customer,order=Order,timestamp=Date,amount=Total,email=E-mail,phone=Phone")
    without = sum(1 for c in range(N) if latest_contacts(c)["Phone"] and not latest_contacts(c)["Phone"].startswith("+"))
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"custseg: error: shop.csv, column 'Phone' (phone): {without} customers' numbers have no + country code and no country to read "
        "them in; give --phone-country (e.g. --phone-country BR), or map a country column")
    assert not (tmp_path / "out").exists()


def test_audience_settings_from_the_config_and_the_command_line(tmp_path):
    from custseg.config import from_dict

    config = from_dict({"audiences": {"format": "klaviyo", "phone_country": "br"}})
    assert AudienceSettings.of(config=config.audiences) == AudienceSettings("klaviyo", "BR")
    assert AudienceSettings.of("plain", None, config.audiences) == AudienceSettings("plain", "BR")
    with pytest.raises(InputError, match=r"\[audiences\]: format = tiktok: use one of plain, klaviyo, mailchimp, google-customer-match"):
        from_dict({"audiences": {"format": "tiktok"}})


def test_file_names_are_safe_and_stable():
    assert slug("Top-spending champions") == "top-spending-champions"
    assert slug("Ação / Promoção: 50% off!") == "acao-promocao-50-off"
    assert slug("***") == "segment"
    assert file_name("repeat_champions", 3, "Less recent champions") == "repeat-champions-03-less-recent-champions.csv"
    assert file_name("rfm", "Cannot Lose Them", "Cannot Lose Them") == "rfm-cannot-lose-them.csv"
    # two populations whose names have one slug ("a_b", "a-b") get two files, not one overwritten
    customers = pd.DataFrame({"customer_id": ["x", "y"], "monetary": [1.0, 2.0]})
    members = pd.DataFrame({"customer_id": ["x", "y"], "segment": [1, 1], "segment_name": ["Same", "Same"]})
    manifest, files = plan_audiences(customers, [Grouping("a_b", "A", members), Grouping("a-b", "B", members.iloc[:1])])
    assert [f for f, _ in files] == ["a-b-01-same.csv", "a-b-01-same-2.csv"]
    assert [(e["population"], e["customers"], e["revenue"]) for e in manifest["audiences"]] == [("a_b", 2, 3.0), ("a-b", 1, 1.0)]


def test_lifetime_value_columns_are_carried_when_the_customer_table_has_them():
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "recency": [1, 2, 3], "frequency": [1, 2, 1],
                              "monetary": [10.004, 20.0, 30.0], "p_alive": [0.91234, 0.5, 0.1],
                              "expected_purchases": [1.23456, 0.5, 0.0], "expected_revenue": [12.346, 6.0, 0.0]})
    members = pd.DataFrame({"customer_id": ["c", "a", "b"], "segment": [2, 1, 1], "segment_name": ["Two", "One", "One"]})
    frames = [(f, n, rounded(r)) for f, n, r in audience_frames(customers, Grouping("pop", "Pop", members, {1: "act one"}))]
    assert [(f, n, list(r["customer_id"])) for f, n, r in frames] == [("pop-01-one.csv", "One", ["a", "b"]), ("pop-02-two.csv", "Two", ["c"])]
    first = frames[0][2]
    assert list(first.columns) == ["customer_id", "population", "segment", "segment_name", "recency", "frequency", "monetary",
                                   "p_alive", "expected_purchases", "expected_revenue", "suggested_action"]
    assert first["p_alive"].tolist() == [0.912, 0.5] and first["expected_revenue"].tolist() == [12.35, 6.0]
    assert first["suggested_action"].tolist() == ["act one", "act one"] and frames[1][2]["suggested_action"].tolist() == [""]


# ----------------------------------------------------------------------------- assign


def test_assign_writes_the_same_audience_files(plain, log, tmp_path, run_cli):
    result, out, _ = plain
    target = tmp_path / "assigned"
    done = run_cli("assign", "--model", out / "models" / "all", "--data", log, "--out", target, "--map", MAP,
                   "--audience-format", "google-customer-match", "--phone-country", "US")
    assert done.exit_code == 0, done.stderr
    assignments = read(target / "assignments.csv")
    m = manifest(target)
    pop = next(p for p in result.populations if p.name == "all")
    mine = [e for e in m["audiences"] if e["population"] == "all"]
    assert {e["name"] for e in mine} <= set(pop.cluster_names.values())  # the run's names, from models/all/clusters.json
    assert sum(e["customers"] for e in mine) == int((assignments["cluster"] != "").sum())
    for entry in mine:
        rows = read(target / "audiences" / entry["file"])
        wanted = assignments.loc[assignments["cluster"] == str(entry["segment"]), "customer_id"]
        assert sorted(rows["customer_id"]) == sorted(wanted)
        assert entry["name"] == pop.cluster_names[entry["segment"]]
        assert len(read(target / "audiences" / entry["import_file"])) == entry["import_rows"] == entry["customers"]
    rfm = [e for e in m["audiences"] if e["population"] == "rfm"]
    assert sum(e["customers"] for e in rfm) == result.summary["converted_customers"]
    assert "wrote" in done.stdout and "audiences" in done.stdout


def test_plain_files_with_contacts_are_rounded_like_the_others(tmp_path):
    # the plain format joins the contacts to the rows; the join once dropped the rounding
    from custseg.audiences import Contacts, write_files

    customers = pd.DataFrame({"customer_id": ["a", "b"], "monetary": [10.004, 20.0], "p_alive": [0.91234, 0.5]})
    members = pd.DataFrame({"customer_id": ["a", "b"], "segment": [1, 1], "segment_name": ["One", "One"]})
    contacts = Contacts(pd.DataFrame({"country": ["Norway", ""]}, index=pd.Index(["a", "b"], name="customer_id")), ("country",), False)
    manifest, files = plan_audiences(customers, [Grouping("pop", "Pop", members)], contacts=contacts)
    write_files(tmp_path, manifest, files)
    assert (tmp_path / "pop-01-one.csv").read_text().splitlines() == [
        "customer_id,population,segment,segment_name,monetary,p_alive,suggested_action,country",
        'a,pop,1,One,10.0,0.912,"",Norway', 'b,pop,1,One,20.0,0.5,"",""']
    assert manifest["audiences"][0]["revenue"] == 30.0
