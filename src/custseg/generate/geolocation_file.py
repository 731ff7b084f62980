"""The geolocation file: zip prefixes with coordinates, duplicates, accented spellings and the missing prefixes of the real file."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from . import catalogue, csvtext
from .geography import ACCENTED_SPELLINGS
from .world import OLIST_CUSTOMERS, World

MISSING_GEOLOCATION_SHARE = 0.009    # §1: 157 customer zip prefixes are missing from geolocation
GEO_DUPLICATE_SHARE = 0.26           # §1: ~26% exact duplicate geolocation rows
ACCENTED_SHARE = 0.1                 # chosen: geolocation rows using the accented city spelling


def geolocation_text(world: World, rng: np.random.Generator, n_customers: int) -> tuple[bytes, int]:
    """Geolocation rows for every zip prefix of the world and every real seller zip prefix.

    About 53 rows per prefix at Olist scale (1,000,163 rows / 19,015 prefixes in §1), fewer for
    small runs; points scatter around the prefix's position, a quarter of rows are exact duplicates,
    some rows spell big cities with accents, and ~1% of customer prefixes are missing, as in the real file.
    """
    geo = world.geo
    zips = geo.zips
    target = world.targets["scale"]
    mean_rows = max(1.5, target["geolocation_rows"] / target["geolocation_zip_prefixes"]
                    * min(1.0, n_customers / OLIST_CUSTOMERS))
    # Real seller prefixes (with their own city) that the customer world does not have.
    sellers = catalogue.sellers()
    seller_zip = sellers["seller_zip_code_prefix"].astype(int).to_numpy()
    fresh = ~np.isin(seller_zip, zips["zip"].to_numpy())
    s_zip, first = np.unique(seller_zip[fresh], return_index=True)
    s_rows = np.flatnonzero(fresh)[first]
    keep = rng.random(len(zips)) >= MISSING_GEOLOCATION_SHARE
    zip_code = np.concatenate([zips["zip"].to_numpy()[keep], s_zip])
    lat = np.concatenate([zips["lat"].to_numpy()[keep], world.seller_lat[s_rows]])
    lng = np.concatenate([zips["lng"].to_numpy()[keep], world.seller_lng[s_rows]])
    city = np.concatenate([geo.cities["city"].to_numpy()[zips["city_index"].to_numpy()[keep]],
                           sellers["seller_city"].to_numpy()[s_rows]]).astype(object)
    state = np.concatenate([geo.cities["state"].to_numpy()[zips["city_index"].to_numpy()[keep]],
                            sellers["seller_state"].to_numpy()[s_rows]]).astype(object)
    weight = np.concatenate([zips["weight"].to_numpy()[keep], np.full(s_zip.size, zips["weight"].median())])
    rel = np.sqrt(weight / weight.mean())
    counts = 1 + rng.poisson((mean_rows - 1) * rel / rel.mean())
    order = np.argsort(zip_code, kind="stable")
    zip_code, lat, lng, city, state, counts = (a[order] for a in (zip_code, lat, lng, city, state, counts))
    row_zip = np.repeat(np.arange(zip_code.size), counts)
    first_row = np.concatenate([[0], np.cumsum(counts)[:-1]])
    jitter = rng.normal(0.0, 0.006, (2, row_zip.size))
    dup = rng.random(row_zip.size) < GEO_DUPLICATE_SHARE
    dup[first_row] = False
    row_lat = lat[row_zip] + jitter[0]
    row_lng = lng[row_zip] + jitter[1]
    # Duplicates repeat the prefix's first point exactly.
    row_lat = np.where(dup, row_lat[first_row[row_zip]], row_lat)
    row_lng = np.where(dup, row_lng[first_row[row_zip]], row_lng)
    row_city = city[row_zip]
    accented = np.array([ACCENTED_SPELLINGS.get(c, c) for c in city], dtype=object)[row_zip]
    use_accent = rng.random(row_zip.size) < ACCENTED_SHARE
    row_city = np.where(use_accent, accented, row_city)
    cols = [
        csvtext.zip_prefixes(zip_code[row_zip]), csvtext.floats(np.round(row_lat, 14)),
        csvtext.floats(np.round(row_lng, 14)),
        csvtext.text_fields(pa.array(row_city, type=pa.string())), pa.array(state[row_zip], type=pa.string()),
    ]
    return csvtext.rows(cols), int(row_zip.size)
