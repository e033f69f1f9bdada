"""Land, sea and countries from offline sources (qnetemu.geodata).

References: capitals' and cities' coordinates (city centres, 4 decimals); ISO 3166-1 alpha-2
codes; the EU's 27 member states since 1 February 2020 (Treaty on European Union, Art. 52);
the French outermost regions that ISO codes separately (TFEU Art. 349).
"""

from __future__ import annotations

import numpy as np
import pytest

from qnetemu import geodata
from qnetemu.geodata import EU_MEMBER_STATES, REGIONS, country_codes, expand_countries, is_land

KNOWN_SITES = [
    # name, lat, lon, ISO code
    ("Bucharest", 44.4268, 26.1025, "RO"),
    ("Nicosia", 35.1856, 33.3823, "CY"),
    ("Valletta", 35.8989, 14.5146, "MT"),
    ("Las Palmas", 28.1235, -15.4363, "ES"),  # Canary Islands: Spain
    ("Saint-Denis", -20.8823, 55.4504, "RE"),  # Réunion keeps its own ISO code (part of France and the EU)
    ("Funchal", 32.6669, -16.9241, "PT"),  # Madeira
    ("Ponta Delgada", 37.7412, -25.6756, "PT"),  # Azores
    ("Cayenne", 4.9224, -52.3135, "GF"),
    ("Mariehamn", 60.0973, 19.9348, "AX"),  # Åland: Finland, own ISO code
    ("Gibraltar", 36.1408, -5.3536, "GI"),  # not Spain, not the EU since 2020
    ("Istanbul", 41.0082, 28.9784, "TR"),
    ("Tallinn", 59.4370, 24.7536, "EE"),
]

# Border twins a few km apart: the nearest place alone could flip them; names decide.
TWINS = [
    ("Görlitz", 51.1528, 14.9872, "DE"), ("Zgorzelec", 51.1500, 15.0083, "PL"),
    ("Frankfurt (Oder)", 52.3471, 14.5506, "DE"), ("Słubice", 52.3500, 14.5600, "PL"),
    ("Narva", 59.3797, 28.1791, "EE"), ("Ivangorod", 59.3766, 28.2231, "RU"),
    ("Tornio", 65.8482, 24.1466, "FI"), ("Haparanda", 65.8355, 24.1368, "SE"),
    ("Strasbourg", 48.5734, 7.7521, "FR"), ("Kehl", 48.5723, 7.8155, "DE"),
    ("Basel", 47.5596, 7.5886, "CH"), ("Geneva", 46.2044, 6.1432, "CH"),
]


@pytest.mark.parametrize(("name", "lat", "lon", "code"), KNOWN_SITES, ids=[s[0] for s in KNOWN_SITES])
def test_country_of_known_sites(name, lat, lon, code):
    assert country_codes([lat], [lon]) == [code]
    assert country_codes([lat], [lon], [name]) == [code]


def test_border_twins_take_the_country_of_their_name():
    lat, lon, names = zip(*[(t[1], t[2], t[0]) for t in TWINS], strict=True)
    assert country_codes(lat, lon, names) == [t[3] for t in TWINS]


def test_no_country_at_sea_or_without_coordinates_but_one_on_remote_land():
    """Mid-North Sea (160 km from the nearest town) and mid-Bay of Biscay: none. Santa Maria in
    the Azores (36.99 N, 25.14 W) has no town of 1,000 in GeoNames, yet is land: Portugal.
    The interior of Iceland (64.8 N, 18.0 W), far from towns: Iceland."""
    assert country_codes([54.27, 45.5, np.nan], [2.33, -5.0, 10.0]) == [None, None, None]
    assert country_codes([36.9970, 64.8], [-25.1360, -18.0]) == ["PT", "IS"]


def test_land_and_water():
    """City centres are land; open sea, the Gulf of Lion and Lake Geneva (a lake is water) are not;
    Malta, Cyprus and Gran Canaria's interiors are land (islands)."""
    land = [(48.8566, 2.3522), (44.4268, 26.1025), (35.88, 14.45), (35.0, 33.0), (27.96, -15.60), (64.8, -18.0)]
    water = [(43.0, 5.0), (46.45, 6.55), (36.0, 32.3), (54.27, 2.33), (0.0, 0.0), (42.5, 30.0)]
    lat, lon = np.array(land + water).T
    assert is_land(lat, lon).tolist() == [True] * len(land) + [False] * len(water)
    assert is_land(np.nan, 0.0).tolist() is False
    assert is_land([[48.8566]], [[2.3522]]).shape == (1, 1)


def test_eu_region_and_codes():
    assert len(EU_MEMBER_STATES) == 27
    assert "GR" in EU_MEMBER_STATES and "EL" not in EU_MEMBER_STATES  # ISO, not the EU's own code
    assert {"GB", "CH", "NO", "TR", "GI"}.isdisjoint(REGIONS["EU"])
    assert {"RE", "GP", "GF", "MQ", "YT", "MF", "AX"} <= REGIONS["EU"]
    assert expand_countries(["eu", "CH"]) == REGIONS["EU"] | {"CH"}
    assert REGIONS["EEA"] - REGIONS["EU"] == {"IS", "LI", "NO"}
    assert EU_MEMBER_STATES <= geodata.known_country_codes()
    with pytest.raises(KeyError, match="'XX'"):
        expand_countries(["XX"])


CAPITALS = {  # the 27 member states' capitals as in scenarios/euroqci.yaml, and their country
    "Vienna": "AT", "Brussels": "BE", "Sofia": "BG", "Zagreb": "HR", "Nicosia": "CY", "Prague": "CZ",
    "Copenhagen": "DK", "Tallinn": "EE", "Helsinki": "FI", "Paris": "FR", "Berlin": "DE", "Athens": "GR",
    "Budapest": "HU", "Dublin": "IE", "Rome": "IT", "Riga": "LV", "Vilnius": "LT", "Luxembourg": "LU",
    "Valletta": "MT", "Amsterdam": "NL", "Warsaw": "PL", "Lisbon": "PT", "Bucharest": "RO",
    "Bratislava": "SK", "Ljubljana": "SI", "Madrid": "ES", "Stockholm": "SE",
}


def test_every_eu_capital_of_the_euroqci_scenario_is_in_its_member_state(scenarios_dir):
    import yaml

    sites = {s["name"]: s for s in yaml.safe_load((scenarios_dir / "euroqci.yaml").read_text())["sites"]}
    names = list(CAPITALS)
    codes = country_codes([sites[n]["lat_deg"] for n in names], [sites[n]["lon_deg"] for n in names], names)
    assert dict(zip(names, codes, strict=True)) == CAPITALS
    assert set(CAPITALS.values()) == EU_MEMBER_STATES
