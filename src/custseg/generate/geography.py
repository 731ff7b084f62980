"""Synthetic but plausible Brazilian geography for the Olist generator. (Over 400 lines: about 230
of them are the table of real large cities, _LARGE_CITIES; the code is ~200.)

The real customers and geolocation files are not available, so customer places are drawn from a
*world* built here: 5,570 cities (the number of Brazilian municipalities, split by state as IBGE
counts them), with

* ~130 real large cities (name as Olist spells it: lowercase, no accents), with an approximate
  population and position (chosen from general knowledge, rounded);
* the other real city names that appear in the bundled sellers table;
* made-up Portuguese/Tupi-style names for the rest of each state's municipalities.

Each city owns a handful of 5-digit zip prefixes inside its state's real CEP range and a position
inside its state. Weights follow the published state and city counts (STATS §8a-b); where STATS has
no number (small cities, zip prefixes per city) the exponents below were tuned so that an Olist-scale
run shows about the published number of distinct cities (4,119) and zip prefixes (14,994).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

# IBGE municipality counts per state (5,570 in total).
MUNICIPALITIES_PER_STATE: dict[str, int] = {
    "AC": 22, "AL": 102, "AP": 16, "AM": 62, "BA": 417, "CE": 184, "DF": 1, "ES": 78, "GO": 246,
    "MA": 217, "MT": 141, "MS": 79, "MG": 853, "PA": 144, "PB": 223, "PR": 399, "PE": 185, "PI": 224,
    "RJ": 92, "RN": 167, "RS": 497, "RO": 52, "RR": 15, "SC": 295, "SP": 645, "SE": 75, "TO": 139,
}

# Real CEP ranges (first five digits) of each state.
CEP_RANGES: dict[str, list[tuple[int, int]]] = {
    "SP": [(1000, 19999)], "RJ": [(20000, 28999)], "ES": [(29000, 29999)], "MG": [(30000, 39999)],
    "BA": [(40000, 48999)], "SE": [(49000, 49999)], "PE": [(50000, 56999)], "AL": [(57000, 57999)],
    "PB": [(58000, 58999)], "RN": [(59000, 59999)], "CE": [(60000, 63999)], "PI": [(64000, 64999)],
    "MA": [(65000, 65999)], "PA": [(66000, 68899)], "AP": [(68900, 68999)],
    "AM": [(69000, 69299), (69400, 69899)], "RR": [(69300, 69399)], "AC": [(69900, 69999)],
    "DF": [(70000, 72799), (73000, 73699)], "GO": [(72800, 72999), (73700, 76799)],
    "RO": [(76800, 76999)], "TO": [(77000, 77999)], "MT": [(78000, 78899)], "MS": [(79000, 79999)],
    "PR": [(80000, 87999)], "SC": [(88000, 89999)], "RS": [(90000, 99999)],
}

# Approximate state centre (lat, lng) and a spread in degrees for placing unnamed cities.
STATE_CENTRES: dict[str, tuple[float, float, float]] = {
    "AC": (-9.0, -70.5, 1.2), "AL": (-9.6, -36.6, 0.4), "AP": (1.4, -51.8, 0.9), "AM": (-4.0, -63.0, 3.0),
    "BA": (-12.5, -41.7, 2.2), "CE": (-5.2, -39.5, 1.1), "DF": (-15.8, -47.9, 0.12), "ES": (-19.6, -40.6, 0.6),
    "GO": (-16.0, -49.6, 1.6), "MA": (-5.0, -45.3, 1.8), "MT": (-13.0, -55.9, 2.6), "MS": (-20.5, -54.8, 1.7),
    "MG": (-18.5, -44.5, 2.2), "PA": (-4.0, -52.5, 3.0), "PB": (-7.1, -36.7, 0.5), "PR": (-24.6, -51.6, 1.3),
    "PE": (-8.3, -37.9, 0.9), "PI": (-7.7, -42.7, 1.8), "RJ": (-22.3, -42.6, 0.5), "RN": (-5.8, -36.6, 0.45),
    "RS": (-29.7, -53.2, 1.6), "RO": (-10.9, -62.8, 1.3), "RR": (2.0, -61.3, 1.0), "SC": (-27.3, -50.5, 1.0),
    "SP": (-22.3, -48.6, 1.5), "SE": (-10.6, -37.4, 0.35), "TO": (-10.2, -48.3, 1.8),
}

BRAZIL_LAT = (-33.7, 5.2)
BRAZIL_LNG = (-73.9, -34.8)

# Large real cities: state, name as Olist writes it, population in thousands (approx.), lat, lng.
_LARGE_CITIES = """
SP|sao paulo|12100|-23.55|-46.63
SP|guarulhos|1350|-23.46|-46.53
SP|campinas|1180|-22.91|-47.06
SP|sao bernardo do campo|820|-23.69|-46.56
SP|santo andre|715|-23.66|-46.53
SP|osasco|700|-23.53|-46.79
SP|sao jose dos campos|700|-23.18|-45.88
SP|ribeirao preto|680|-21.18|-47.81
SP|sorocaba|660|-23.50|-47.46
SP|santos|435|-23.96|-46.33
SP|maua|465|-23.67|-46.46
SP|sao jose do rio preto|450|-20.82|-49.38
SP|mogi das cruzes|430|-23.52|-46.19
SP|diadema|415|-23.69|-46.62
SP|jundiai|410|-23.19|-46.88
SP|piracicaba|395|-22.73|-47.65
SP|carapicuiba|395|-23.52|-46.84
SP|bauru|370|-22.31|-49.06
SP|itaquaquecetuba|360|-23.49|-46.35
SP|sao vicente|360|-23.96|-46.39
SP|franca|350|-20.54|-47.40
SP|guaruja|315|-23.99|-46.26
SP|taubate|305|-23.03|-45.56
SP|praia grande|310|-24.01|-46.40
SP|limeira|300|-22.56|-47.40
SP|suzano|290|-23.54|-46.31
SP|taboao da serra|280|-23.62|-46.79
SP|sumare|280|-22.82|-47.27
SP|barueri|265|-23.51|-46.88
SP|embu das artes|270|-23.65|-46.85
SP|sao carlos|245|-22.02|-47.89
SP|marilia|235|-22.21|-49.95
SP|indaiatuba|235|-23.09|-47.22
SP|cotia|240|-23.60|-46.92
SP|americana|235|-22.74|-47.33
SP|jacarei|230|-23.30|-45.97
SP|araraquara|230|-21.79|-48.18
SP|presidente prudente|225|-22.12|-51.39
SP|itapevi|230|-23.55|-46.93
SP|hortolandia|225|-22.86|-47.22
SP|rio claro|205|-22.41|-47.56
SP|aracatuba|195|-21.21|-50.43
SP|santa barbara d'oeste|190|-22.75|-47.41
SP|ferraz de vasconcelos|190|-23.54|-46.37
SP|sao caetano do sul|160|-23.62|-46.55
SP|valinhos|125|-22.97|-47.00
SP|atibaia|140|-23.12|-46.55
SP|braganca paulista|165|-22.95|-46.54
SP|itu|170|-23.26|-47.30
SP|vinhedo|75|-23.03|-46.98
SP|santana de parnaiba|135|-23.44|-46.92
RJ|rio de janeiro|6520|-22.91|-43.17
RJ|sao goncalo|1050|-22.83|-43.05
RJ|duque de caxias|890|-22.79|-43.31
RJ|nova iguacu|800|-22.76|-43.45
RJ|niteroi|500|-22.88|-43.10
RJ|belford roxo|500|-22.76|-43.40
RJ|campos dos goytacazes|490|-21.75|-41.32
RJ|sao joao de meriti|460|-22.80|-43.37
RJ|petropolis|300|-22.51|-43.18
RJ|volta redonda|270|-22.52|-44.10
RJ|macae|250|-22.37|-41.79
RJ|mage|240|-22.65|-43.04
RJ|itaborai|230|-22.74|-42.86
RJ|cabo frio|215|-22.88|-42.02
RJ|nova friburgo|185|-22.28|-42.53
RJ|barra mansa|180|-22.54|-44.17
RJ|angra dos reis|195|-23.01|-44.32
RJ|teresopolis|175|-22.41|-42.97
RJ|mesquita|170|-22.78|-43.43
RJ|marica|155|-22.92|-42.82
RJ|resende|125|-22.47|-44.45
RJ|queimados|145|-22.72|-43.56
RJ|nilopolis|158|-22.81|-43.41
MG|belo horizonte|2520|-19.92|-43.94
MG|uberlandia|680|-18.92|-48.28
MG|contagem|660|-19.93|-44.05
MG|juiz de fora|565|-21.76|-43.35
MG|betim|430|-19.97|-44.20
MG|montes claros|400|-16.73|-43.86
MG|ribeirao das neves|330|-19.77|-44.09
MG|uberaba|330|-19.75|-47.93
MG|governador valadares|280|-18.85|-41.95
MG|ipatinga|260|-19.47|-42.54
MG|sete lagoas|235|-19.47|-44.25
MG|divinopolis|235|-20.14|-44.88
MG|santa luzia|220|-19.77|-43.85
MG|pocos de caldas|165|-21.79|-46.56
MG|varginha|135|-21.55|-45.43
MG|pouso alegre|150|-22.23|-45.94
MG|lavras|103|-21.25|-45.00
MG|nova lima|93|-19.99|-43.85
MG|vicosa|78|-20.75|-42.88
MG|barbacena|138|-21.23|-43.77
RS|porto alegre|1480|-30.03|-51.23
RS|caxias do sul|480|-29.17|-51.18
RS|pelotas|345|-31.77|-52.34
RS|canoas|345|-29.92|-51.18
RS|santa maria|280|-29.68|-53.81
RS|gravatai|275|-29.94|-50.99
RS|viamao|255|-30.08|-51.02
RS|novo hamburgo|250|-29.68|-51.13
RS|sao leopoldo|230|-29.76|-51.15
RS|rio grande|210|-32.03|-52.10
RS|passo fundo|200|-28.26|-52.41
RS|alvorada|210|-29.99|-51.08
RS|santa cruz do sul|128|-29.72|-52.43
RS|cachoeirinha|130|-29.95|-51.09
RS|bento goncalves|115|-29.17|-51.52
PR|curitiba|1910|-25.43|-49.27
PR|londrina|560|-23.31|-51.16
PR|maringa|410|-23.42|-51.94
PR|ponta grossa|345|-25.09|-50.16
PR|cascavel|325|-24.96|-53.46
PR|sao jose dos pinhais|310|-25.53|-49.21
PR|foz do iguacu|265|-25.55|-54.59
PR|colombo|240|-25.29|-49.22
PR|guarapuava|180|-25.39|-51.46
PR|paranagua|155|-25.52|-48.51
PR|araucaria|140|-25.59|-49.41
PR|toledo|138|-24.72|-53.74
PR|pinhais|130|-25.44|-49.19
SC|joinville|580|-26.30|-48.85
SC|florianopolis|490|-27.59|-48.55
SC|blumenau|350|-26.92|-49.07
SC|sao jose|240|-27.61|-48.63
SC|chapeco|215|-27.10|-52.62
SC|itajai|215|-26.91|-48.66
SC|criciuma|213|-28.68|-49.37
SC|jaragua do sul|175|-26.49|-49.07
SC|palhoca|165|-27.64|-48.67
SC|lages|158|-27.82|-50.33
SC|balneario camboriu|138|-26.99|-48.63
SC|brusque|130|-27.10|-48.92
BA|salvador|2950|-12.97|-38.50
BA|feira de santana|625|-12.27|-38.97
BA|vitoria da conquista|345|-14.86|-40.84
BA|camacari|295|-12.70|-38.32
BA|itabuna|220|-14.79|-39.28
BA|juazeiro|215|-9.41|-40.50
BA|lauro de freitas|195|-12.89|-38.33
BA|ilheus|175|-14.79|-39.05
BA|jequie|160|-13.86|-40.08
BA|teixeira de freitas|160|-17.54|-39.74
BA|barreiras|155|-12.15|-45.00
BA|porto seguro|148|-16.45|-39.06
DF|brasilia|3040|-15.79|-47.88
ES|serra|500|-20.13|-40.31
ES|vila velha|490|-20.33|-40.29
ES|cariacica|385|-20.26|-40.42
ES|vitoria|360|-20.32|-40.34
ES|cachoeiro de itapemirim|210|-20.85|-41.11
ES|linhares|170|-19.39|-40.07
ES|guarapari|125|-20.67|-40.50
ES|colatina|123|-19.54|-40.63
GO|goiania|1470|-16.68|-49.25
GO|aparecida de goiania|540|-16.82|-49.24
GO|anapolis|380|-16.33|-48.95
GO|rio verde|230|-17.79|-50.92
GO|luziania|205|-16.25|-47.95
GO|aguas lindas de goias|200|-15.76|-48.28
GO|valparaiso de goias|165|-16.07|-47.98
GO|trindade|125|-16.65|-49.49
GO|formosa|120|-15.54|-47.33
GO|catalao|105|-18.17|-47.94
PE|recife|1630|-8.05|-34.88
PE|jaboatao dos guararapes|700|-8.11|-35.01
PE|olinda|390|-8.01|-34.86
PE|caruaru|360|-8.28|-35.98
PE|petrolina|345|-9.39|-40.50
PE|paulista|330|-7.94|-34.87
PE|cabo de santo agostinho|205|-8.29|-35.03
PE|camaragibe|155|-8.02|-34.98
PE|garanhuns|140|-8.89|-36.49
CE|fortaleza|2630|-3.73|-38.53
CE|caucaia|360|-3.74|-38.66
CE|juazeiro do norte|270|-7.21|-39.32
CE|maracanau|225|-3.88|-38.63
CE|sobral|205|-3.69|-40.35
CE|crato|131|-7.23|-39.41
PA|belem|1450|-1.46|-48.50
PA|ananindeua|525|-1.37|-48.37
PA|santarem|300|-2.44|-54.71
PA|maraba|275|-5.37|-49.12
PA|parauapebas|200|-6.07|-49.90
PA|castanhal|195|-1.30|-47.93
MT|cuiaba|590|-15.60|-56.10
MT|varzea grande|280|-15.65|-56.13
MT|rondonopolis|225|-16.47|-54.64
MT|sinop|135|-11.86|-55.50
MT|tangara da serra|100|-14.62|-57.49
MA|sao luis|1090|-2.53|-44.30
MA|imperatriz|255|-5.52|-47.47
MA|sao jose de ribamar|175|-2.56|-44.05
MA|timon|165|-5.09|-42.84
MA|caxias|163|-4.86|-43.36
MS|campo grande|875|-20.47|-54.62
MS|dourados|220|-22.22|-54.81
MS|tres lagoas|117|-20.75|-51.68
MS|corumba|110|-19.01|-57.65
PB|joao pessoa|810|-7.12|-34.86
PB|campina grande|410|-7.23|-35.88
PB|santa rita|136|-7.11|-34.98
PB|patos|107|-7.02|-37.28
PI|teresina|850|-5.09|-42.80
PI|parnaiba|150|-2.90|-41.78
PI|picos|78|-7.08|-41.47
RN|natal|885|-5.79|-35.21
RN|mossoro|295|-5.19|-37.34
RN|parnamirim|255|-5.92|-35.26
AL|maceio|1030|-9.67|-35.74
AL|arapiraca|235|-9.75|-36.66
SE|aracaju|650|-10.91|-37.07
SE|nossa senhora do socorro|180|-10.86|-37.13
SE|lagarto|105|-10.92|-37.65
TO|palmas|285|-10.18|-48.33
TO|araguaina|175|-7.19|-48.21
TO|gurupi|85|-11.73|-49.07
RO|porto velho|520|-8.76|-63.90
RO|ji-parana|130|-10.88|-61.95
RO|ariquemes|107|-9.91|-63.04
AM|manaus|2130|-3.12|-60.02
AM|parintins|113|-2.63|-56.74
AM|itacoatiara|99|-3.14|-58.44
AC|rio branco|385|-9.97|-67.81
AC|cruzeiro do sul|88|-7.63|-72.68
AP|macapa|475|-0.03|-51.07
AP|santana|118|-0.06|-51.17
RR|boa vista|330|2.82|-60.67
"""

# Administrative regions of the Federal District that appear as "cities" in addresses.
_DF_REGIONS = ["taguatinga", "ceilandia", "gama", "sobradinho", "guara", "aguas claras", "samambaia", "planaltina"]

# Accented spellings that the real geolocation table mixes with the plain ones.
ACCENTED_SPELLINGS: dict[str, str] = {
    "sao paulo": "são paulo", "brasilia": "brasília", "belem": "belém", "goiania": "goiânia",
    "florianopolis": "florianópolis", "maceio": "maceió", "vitoria": "vitória", "sao luis": "são luís",
    "ribeirao preto": "ribeirão preto", "niteroi": "niterói", "jundiai": "jundiaí", "santo andre": "santo andré",
    "sao bernardo do campo": "são bernardo do campo", "sao jose dos campos": "são josé dos campos",
}

# Pieces for made-up but Brazilian-sounding municipality names.
_SAINTS = ["sao jose", "santa maria", "santo antonio", "sao joao", "santa rita", "sao pedro", "santa luzia",
           "sao francisco", "santa cruz", "sao sebastiao", "santa clara", "sao miguel", "santa ines",
           "sao domingos", "santa isabel", "sao tome", "santa helena", "sao bento", "santa fe", "sao lourenco",
           "santa teresa", "sao vicente", "santana", "sao jorge", "santa rosa", "sao gabriel", "santa tereza",
           "sao felix", "santo amaro", "sao roque", "santa cecilia", "sao joaquim", "santo inacio", "sao caetano"]
_SAINT_TAILS = ["do sul", "do norte", "da serra", "do oeste", "d'oeste", "dos campos", "do rio", "da barra",
                "das missoes", "do paraiso", "da boa vista", "da mata", "da vitoria", "do livramento",
                "das palmeiras", "da lagoa", "do triunfo", "das flores", "dos pinhais", "do capim", "do bom jardim",
                "da estrela", "do cedro", "das aguas", "do turvo", "da ponte", "do salto", "da colina"]
_PLACE_HEADS = ["nova", "novo", "bom", "boa", "alto", "campo", "porto", "rio", "serra", "lagoa", "barra",
                "pedra", "morro", "vila", "monte", "ponte", "cachoeira", "agua", "vargem", "ribeirao",
                "chapada", "colina", "campina", "palmeira", "capao", "arroio", "passo", "cerro", "ilha", "mata"]
_PLACE_TAILS = ["esperanca", "horizonte", "vista", "alegre", "jardim", "bela", "verde", "grande", "bonito",
                "formoso", "feliz", "azul", "real", "seco", "fundo", "largo", "branco", "claro", "alta", "redonda",
                "do meio", "das pedras", "dos bois", "preta", "santa", "nova", "velha", "limpa", "fria", "dourada",
                "do mato", "das antas", "do sul", "do norte", "das garcas", "do campo"]
_TUPI_HEADS = ["ita", "ibi", "jacu", "guara", "pira", "itu", "cara", "ara", "jaca", "itapi", "capi", "taqua",
               "maca", "ipu", "iba", "para", "uba", "tau", "bore", "peru", "cura", "jabo", "ipa", "itaja",
               "mara", "juru", "anda", "aru", "bura", "caju", "gua", "ita", "pia", "tibi", "uru", "itaqua",
               "pira", "sapu", "tapi", "cata", "jati", "mogi", "itape", "itabe", "paraca", "aqui", "inda"]
_TUPI_TAILS = ["tinga", "tuba", "pora", "rana", "ranga", "mirim", "guacu", "piranga", "juba", "pava", "peva",
               "caba", "baba", "nema", "tiba", "ti", "na", "ba", "pe", "ra", "quara", "para", "poranga", "cema",
               "jara", "tiara", "nhem", "cu", "ema", "ri", "tuva", "baiana", "runa", "cica", "lina", "nduba",
               "tiba", "raca", "guara", "poca", "rema", "tinguera", "cai", "bira", "juca"]


@dataclass(frozen=True)
class Geography:
    """The cities and zip prefixes customers live in, plus each zip prefix's position."""

    cities: pd.DataFrame       # city, state, weight (share of customers), lat, lng, radius
    zips: pd.DataFrame         # zip (int), city_index, weight (share of customers), lat, lng
    state_codes: list[str]     # index -> state code, in a fixed order


def _made_up_names(rng: np.random.Generator, count: int, taken: set[str]) -> list[str]:
    """Invent `count` city names not in `taken` (Portuguese saints/places and Tupi-like compounds)."""
    names: list[str] = []
    while len(names) < count:
        kind = rng.random()
        if kind < 0.22:
            name = f"{_SAINTS[rng.integers(len(_SAINTS))]} {_SAINT_TAILS[rng.integers(len(_SAINT_TAILS))]}"
        elif kind < 0.55:
            name = f"{_PLACE_HEADS[rng.integers(len(_PLACE_HEADS))]} {_PLACE_TAILS[rng.integers(len(_PLACE_TAILS))]}"
        else:
            name = _TUPI_HEADS[rng.integers(len(_TUPI_HEADS))] + _TUPI_TAILS[rng.integers(len(_TUPI_TAILS))]
            if rng.random() < 0.15:
                name += " " + _SAINT_TAILS[rng.integers(len(_SAINT_TAILS))]
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names


def _clean_city_name(name: str) -> bool:
    """True for seller city names that look like a plain municipality name (no slashes, digits, states)."""
    return bool(re.fullmatch(r"[a-z][a-z' -]*[a-z]", name)) and len(name) > 3 and " - " not in name


def build_geography(
    rng: np.random.Generator,
    state_counts: dict[str, int],
    pinned_city_counts: dict[str, int],
    sellers: pd.DataFrame,
    *,
    city_weight_exponent: float = 1.2,
    zip_total: int = 14_800,
    zips_per_city_exponent: float = 0.75,
) -> Geography:
    """Build the world of cities and zip prefixes.

    `state_counts` and `pinned_city_counts` are the published customer rows per state and for the
    largest cities (STATS §8a-b); every other city gets a share of its state's remainder in proportion
    to population**city_weight_exponent. `zip_total` zip prefixes are spread over cities in proportion
    to weight**zips_per_city_exponent (at least one each).
    """
    state_codes = list(state_counts)
    large = pd.DataFrame(
        [line.split("|") for line in _LARGE_CITIES.strip().splitlines()],
        columns=["state", "city", "pop", "lat", "lng"],
    ).astype({"pop": float, "lat": float, "lng": float})
    large["pop"] *= 1000.0
    taken = set(large["city"])

    seller_cities = (
        sellers[["seller_city", "seller_state"]].drop_duplicates().sort_values(["seller_state", "seller_city"])
    )
    rows = []
    for state in state_codes:
        known = large[large["state"] == state]
        state_rows = known.to_dict("records")
        lat0, lng0, spread = STATE_CENTRES[state]
        extra = [
            c for c in seller_cities.loc[seller_cities["seller_state"] == state, "seller_city"]
            if _clean_city_name(c) and c not in taken
        ]
        wanted = MUNICIPALITIES_PER_STATE[state] - len(state_rows)
        if state == "DF":
            extra, wanted = list(_DF_REGIONS), len(_DF_REGIONS)
        extra = extra[: max(wanted, 0)]
        taken.update(extra)
        invented = _made_up_names(rng, max(wanted - len(extra), 0), taken)
        others = extra + invented
        # Seller towns host businesses, so they are somewhat larger than a typical municipality.
        pops = np.where(
            np.arange(len(others)) < len(extra),
            rng.lognormal(np.log(30_000), 0.9, len(others)),
            rng.lognormal(np.log(9_000), 1.0, len(others)),
        )
        lats = np.clip(lat0 + rng.normal(0, spread, len(others)), *BRAZIL_LAT)
        lngs = np.clip(lng0 + rng.normal(0, spread, len(others)), *BRAZIL_LNG)
        for name, pop, lat, lng in zip(others, pops, lats, lngs):
            state_rows.append({"state": state, "city": name, "pop": float(pop), "lat": float(lat), "lng": float(lng)})
        rows.extend(state_rows)

    cities = pd.DataFrame(rows)
    cities["weight"] = 0.0
    total_rows = float(sum(state_counts.values()))
    for state in state_codes:
        in_state = (cities["state"] == state).to_numpy()
        pinned = cities["city"].isin(list(pinned_city_counts)).to_numpy() & in_state
        pinned_mass = sum(pinned_city_counts[c] for c in cities.loc[pinned, "city"])
        cities.loc[pinned, "weight"] = [pinned_city_counts[c] / total_rows for c in cities.loc[pinned, "city"]]
        free = in_state & ~pinned
        raw = cities.loc[free, "pop"].to_numpy() ** city_weight_exponent
        remainder = max(state_counts[state] - pinned_mass, 0) / total_rows
        cities.loc[free, "weight"] = remainder * raw / raw.sum()
    cities["weight"] /= cities["weight"].sum()
    cities["radius"] = 0.01 + 0.03 * np.sqrt(cities["pop"] / 1e6)
    cities = cities.reset_index(drop=True)

    zips = _assign_zip_prefixes(rng, cities, zip_total, zips_per_city_exponent)
    return Geography(cities=cities, zips=zips, state_codes=state_codes)


def _assign_zip_prefixes(
    rng: np.random.Generator, cities: pd.DataFrame, zip_total: int, exponent: float
) -> pd.DataFrame:
    """Give each city a set of zip prefixes inside a contiguous block of its state's CEP range.

    Within a state, bigger cities come first (state capitals do hold the lowest CEPs) and get longer
    blocks; the prefixes a city uses are a random subset of its block, with uneven popularity.
    """
    raw = cities["weight"].to_numpy() ** exponent
    per_city = np.maximum(1, np.round(zip_total * raw / raw.sum())).astype(np.int64)
    zip_parts: list[np.ndarray] = []
    city_parts: list[np.ndarray] = []
    weights = cities["weight"].to_numpy()
    states = cities["state"].to_numpy()
    for state, ranges in CEP_RANGES.items():
        idx = np.flatnonzero(states == state)
        if idx.size == 0:
            continue
        idx = idx[np.argsort(-weights[idx], kind="stable")]
        prefixes = np.concatenate([np.arange(lo, hi + 1) for lo, hi in ranges])
        block = np.sqrt(weights[idx] + 1e-12)
        block_len = np.maximum(per_city[idx], np.floor(prefixes.size * block / block.sum()).astype(np.int64))
        starts = np.concatenate([[0], np.cumsum(block_len)[:-1]])
        scale = min(1.0, prefixes.size / max(block_len.sum(), 1))
        starts = np.floor(starts * scale).astype(np.int64)
        block_len = np.maximum(1, np.floor(block_len * scale).astype(np.int64))
        for city, start, length in zip(idx, starts, block_len):
            n = int(min(per_city[city], length))
            chosen = np.sort(rng.choice(length, size=n, replace=False)) + start
            zip_parts.append(prefixes[np.minimum(chosen, prefixes.size - 1)])
            city_parts.append(np.full(n, city, dtype=np.int64))
    zips = pd.DataFrame({"zip": np.concatenate(zip_parts), "city_index": np.concatenate(city_parts)})
    zips = zips.drop_duplicates("zip", keep="first").reset_index(drop=True)
    popularity = rng.lognormal(0.0, 0.8, len(zips))
    city_weight = cities["weight"].to_numpy()[zips["city_index"].to_numpy()]
    share_in_city = popularity / pd.Series(popularity).groupby(zips["city_index"]).transform("sum").to_numpy()
    zips["weight"] = city_weight * share_in_city
    zips["weight"] /= zips["weight"].sum()
    centre_lat = cities["lat"].to_numpy()[zips["city_index"].to_numpy()]
    centre_lng = cities["lng"].to_numpy()[zips["city_index"].to_numpy()]
    radius = cities["radius"].to_numpy()[zips["city_index"].to_numpy()]
    zips["lat"] = np.clip(centre_lat + rng.normal(0, 1, len(zips)) * radius, *BRAZIL_LAT)
    zips["lng"] = np.clip(centre_lng + rng.normal(0, 1, len(zips)) * radius, *BRAZIL_LNG)
    return zips
