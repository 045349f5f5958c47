"""A synthetic, deterministic BACI-like world for trying chokepoints without downloading data.

``demo_extract`` invents bilateral HS17 trade among about 75 real countries for the strategic
products of the catalogue it has a profile for (``PROFILES``) and 150 ordinary products. The
numbers are made up; the patterns are not: leading exporters follow public knowledge (China in
rare earths, magnets and solar PV, the DRC in cobalt ores, Taiwan and Korea in chips, Russian
pipeline gas to the EU collapsing in 2022...), ordinary goods are diversified, and nearby
countries trade more. Everything comes from ``numpy.random.default_rng`` seeded with ``seed``
(and the year, so that one year's flows do not depend on which other years are asked for).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from chokepoints.errors import InputError
from chokepoints.extract import Extract, TradePart
from chokepoints.reference.products import strategic_products
from chokepoints.reference.sectors import sector_products
from chokepoints.schema import PRODUCTS, TRADE, conform

SOURCE = "demo"
RELEASE = "demo-1"
CLASSIFICATION = "HS17"

#: (ISO3, economic size in hundreds of billions of USD, roughly GDP, region); "eu" is the
#: European Union, part of Europe.
COUNTRIES: tuple[tuple[str, float, str], ...] = (
    ("DEU", 40, "eu"),
    ("FRA", 28, "eu"),
    ("ITA", 20, "eu"),
    ("ESP", 14, "eu"),
    ("NLD", 10, "eu"),
    ("BEL", 6, "eu"),
    ("POL", 7, "eu"),
    ("AUT", 4.5, "eu"),
    ("SWE", 5.5, "eu"),
    ("CZE", 3, "eu"),
    ("IRL", 5, "eu"),
    ("DNK", 3.5, "eu"),
    ("FIN", 2.8, "eu"),
    ("PRT", 2.5, "eu"),
    ("HUN", 1.8, "eu"),
    ("ROU", 2.8, "eu"),
    ("SVK", 1.1, "eu"),
    ("GRC", 2.2, "eu"),
    ("BGR", 0.9, "eu"),
    ("LTU", 0.7, "eu"),
    ("GBR", 30, "europe"),
    ("CHE", 8, "europe"),
    ("NOR", 5, "europe"),
    ("TUR", 9, "europe"),
    ("UKR", 1.6, "europe"),
    ("RUS", 18, "cis"),
    ("KAZ", 2.2, "cis"),
    ("BLR", 0.7, "cis"),
    ("USA", 230, "north_america"),
    ("CAN", 20, "north_america"),
    ("MEX", 14, "north_america"),
    ("BRA", 18, "latin_america"),
    ("ARG", 6, "latin_america"),
    ("CHL", 3, "latin_america"),
    ("PER", 2.4, "latin_america"),
    ("COL", 3.4, "latin_america"),
    ("BOL", 0.4, "latin_america"),
    ("CHN", 170, "east_asia"),
    ("JPN", 45, "east_asia"),
    ("KOR", 17, "east_asia"),
    ("TWN", 7.6, "east_asia"),
    ("HKG", 3.6, "east_asia"),
    ("MNG", 0.2, "east_asia"),
    ("IDN", 13, "southeast_asia"),
    ("PHL", 4, "southeast_asia"),
    ("VNM", 4, "southeast_asia"),
    ("THA", 5, "southeast_asia"),
    ("MYS", 4, "southeast_asia"),
    ("SGP", 4.5, "southeast_asia"),
    ("MMR", 0.6, "southeast_asia"),
    ("IND", 32, "south_asia"),
    ("PAK", 3.5, "south_asia"),
    ("BGD", 4.5, "south_asia"),
    ("SAU", 11, "middle_east"),
    ("ARE", 5, "middle_east"),
    ("QAT", 2.3, "middle_east"),
    ("ISR", 5, "middle_east"),
    ("KWT", 1.8, "middle_east"),
    ("OMN", 1, "middle_east"),
    ("EGY", 4, "middle_east"),
    ("ZAF", 4, "africa"),
    ("NGA", 4.5, "africa"),
    ("COD", 0.6, "africa"),
    ("ZMB", 0.3, "africa"),
    ("GAB", 0.2, "africa"),
    ("GIN", 0.2, "africa"),
    ("MAR", 1.3, "africa"),
    ("DZA", 1.9, "africa"),
    ("MOZ", 0.2, "africa"),
    ("MDG", 0.15, "africa"),
    ("ZWE", 0.3, "africa"),
    ("KEN", 1.1, "africa"),
    ("GHA", 0.8, "africa"),
    ("AUS", 17, "oceania"),
    ("NZL", 2.5, "oceania"),
)

#: Members of the European Union among ``COUNTRIES``: they trade more with one another.
EU_MEMBERS = frozenset(code for code, _, region in COUNTRIES if region == "eu")

#: Ordinary HS17 products (not in the strategic catalogue), traded by many countries.
ORDINARY_PRODUCTS: dict[str, str] = {
    "020130": "Beef, fresh or chilled, boneless",
    "020230": "Beef, frozen, boneless",
    "020329": "Pork cuts, frozen",
    "020714": "Chicken cuts and offal, frozen",
    "030214": "Atlantic and Danube salmon, fresh or chilled",
    "030617": "Shrimps and prawns, frozen",
    "040221": "Milk powder, full fat, unsweetened",
    "040690": "Cheese, other kinds",
    "040900": "Natural honey",
    "070200": "Tomatoes, fresh or chilled",
    "070310": "Onions and shallots, fresh or chilled",
    "080211": "Almonds in shell",
    "080390": "Bananas, fresh or dried",
    "080510": "Oranges",
    "080610": "Grapes, fresh",
    "080810": "Apples, fresh",
    "090111": "Coffee, not roasted, not decaffeinated",
    "090240": "Black tea in bulk",
    "100199": "Wheat and meslin, other than seed",
    "100590": "Maize, other than seed",
    "100630": "Rice, semi- or wholly milled",
    "110100": "Wheat or meslin flour",
    "120190": "Soya beans, other than seed",
    "151110": "Palm oil, crude",
    "170199": "Cane or beet sugar, refined",
    "180100": "Cocoa beans",
    "190590": "Bread, pastry, cakes and biscuits",
    "210690": "Food preparations n.e.s.",
    "220300": "Beer made from malt",
    "220421": "Wine in containers of 2 litres or less",
    "220830": "Whiskies",
    "230400": "Soya-bean oilcake",
    "230990": "Animal feed preparations n.e.s.",
    "240220": "Cigarettes containing tobacco",
    "252329": "Portland cement other than white",
    "271000": "Petroleum oils other than crude (fuels and lubricants)",
    "281512": "Sodium hydroxide in aqueous solution",
    "290511": "Methanol",
    "290531": "Ethylene glycol",
    "291736": "Terephthalic acid and its salts",
    "320890": "Paints and varnishes in non-aqueous synthetic polymers",
    "330300": "Perfumes and toilet waters",
    "330499": "Beauty and skin-care preparations n.e.s.",
    "340220": "Washing and cleaning preparations for retail sale",
    "350691": "Adhesives based on polymers or rubber",
    "390110": "Polyethylene, density below 0.94",
    "390120": "Polyethylene, density 0.94 or more",
    "390210": "Polypropylene",
    "390410": "PVC, not mixed",
    "390761": "Polyethylene terephthalate, viscosity 78 ml/g or more",
    "392010": "Plates and film of ethylene polymers",
    "392321": "Sacks and bags of ethylene polymers",
    "392690": "Other articles of plastics",
    "400122": "Technically specified natural rubber (TSNR)",
    "401110": "New pneumatic tyres for cars",
    "401120": "New pneumatic tyres for buses and lorries",
    "420221": "Handbags with outer surface of leather",
    "440712": "Fir and spruce wood, sawn lengthwise",
    "441114": "Medium density fibreboard over 9 mm",
    "470321": "Bleached coniferous chemical wood pulp",
    "480100": "Newsprint in rolls or sheets",
    "481910": "Cartons and boxes of corrugated paper",
    "482010": "Registers, notebooks and diaries",
    "490199": "Printed books and brochures",
    "520100": "Raw cotton, not carded or combed",
    "550320": "Synthetic staple fibres of polyesters, not carded",
    "610910": "T-shirts and vests of cotton, knitted",
    "611020": "Jerseys and pullovers of cotton, knitted",
    "611030": "Jerseys and pullovers of man-made fibres, knitted",
    "620342": "Men's trousers and shorts of cotton",
    "620462": "Women's trousers and shorts of cotton",
    "620520": "Men's shirts of cotton",
    "621210": "Brassieres",
    "630790": "Made-up textile articles n.e.s.",
    "640299": "Footwear with rubber or plastic soles and uppers",
    "640399": "Footwear with leather uppers n.e.s.",
    "690721": "Ceramic tiles, water absorption up to 0.5%",
    "691110": "Porcelain tableware and kitchenware",
    "701090": "Glass bottles, jars and containers",
    "710239": "Non-industrial diamonds, worked",
    "710812": "Gold, unwrought, non-monetary",
    "711319": "Jewellery of precious metal other than silver",
    "720449": "Ferrous waste and scrap n.e.s.",
    "720839": "Hot-rolled flat steel in coils, under 3 mm thick",
    "721049": "Flat-rolled steel coated with zinc n.e.s.",
    "730890": "Structures and parts of structures of iron or steel",
    "731815": "Threaded screws and bolts of iron or steel",
    "732393": "Table and kitchen articles of stainless steel",
    "740400": "Copper waste and scrap",
    "760120": "Aluminium alloys, unwrought",
    "760612": "Aluminium alloy plates and sheets, rectangular",
    "820719": "Rock-drilling tools with other working parts",
    "830140": "Locks of base metal n.e.s.",
    "840734": "Spark-ignition engines for vehicles, over 1000 cc",
    "840991": "Parts of spark-ignition engines",
    "841370": "Centrifugal pumps n.e.s.",
    "841430": "Compressors for refrigerating equipment",
    "841451": "Table, floor or wall fans of 125 W or less",
    "841510": "Air conditioners, window or wall type",
    "841810": "Combined refrigerator-freezers",
    "842139": "Machinery for filtering or purifying gases",
    "842211": "Dishwashing machines, household type",
    "842952": "Excavators with a 360-degree revolving superstructure",
    "843149": "Parts of cranes, excavators and similar machinery",
    "843351": "Combine harvester-threshers",
    "845011": "Fully automatic washing machines up to 10 kg",
    "846721": "Hand-held electric drills",
    "847130": "Portable computers (laptops)",
    "847141": "Other computers with processor and input/output unit",
    "847330": "Parts and accessories of computers",
    "848180": "Taps, cocks and valves n.e.s.",
    "848210": "Ball bearings",
    "848340": "Gears and gearing; ball or roller screws",
    "850440": "Static converters (power supplies, inverters)",
    "851660": "Ovens, cookers and hobs, electric",
    "851671": "Coffee or tea makers, electric",
    "851712": "Mobile telephones",
    "851762": "Machines for receiving and transmitting data (routers, switches)",
    "851830": "Headphones and earphones",
    "852580": "Television and digital cameras",
    "852852": "Monitors connectable to a computer",
    "852872": "Colour television receivers",
    "853400": "Printed circuits",
    "853690": "Electrical apparatus for switching circuits up to 1000 V n.e.s.",
    "853710": "Control boards and panels for up to 1000 V",
    "854442": "Insulated electric conductors with connectors, up to 1000 V",
    "854449": "Insulated electric conductors without connectors, up to 1000 V",
    "870323": "Passenger cars, spark-ignition, 1500-3000 cc",
    "870324": "Passenger cars, spark-ignition, over 3000 cc",
    "870332": "Passenger cars, diesel, 1500-2500 cc",
    "870421": "Diesel lorries of 5 tonnes or less",
    "870829": "Parts and accessories of motor vehicle bodies",
    "870899": "Parts and accessories of motor vehicles n.e.s.",
    "871200": "Bicycles, not motorised",
    "890190": "Cargo vessels and other vessels for goods",
    "900490": "Spectacles and goggles n.e.s.",
    "901839": "Needles, catheters and cannulae",
    "901890": "Medical, surgical or veterinary instruments n.e.s.",
    "902139": "Artificial body parts n.e.s.",
    "903289": "Automatic regulating or controlling instruments n.e.s.",
    "910211": "Wrist-watches, battery powered, with mechanical display",
    "940161": "Upholstered seats with wooden frames",
    "940320": "Metal furniture n.e.s.",
    "940360": "Wooden furniture n.e.s.",
    "940540": "Electric lamps and lighting fittings n.e.s.",
    "940490": "Bedding articles (quilts, cushions, pillows) n.e.s.",
    "950300": "Toys, scale models and puzzles",
    "950490": "Games, game tables and casino equipment n.e.s.",
    "950691": "Gymnasium and fitness equipment",
    "961900": "Sanitary towels, tampons and napkins for babies",
}


@dataclass(frozen=True)
class _Profile:
    """How one strategic product trades, after public trade and production data.

    World imports in 2020 (USD), unit value (USD per tonne), weights of the leading exporters
    (the remainder goes to other countries) and multipliers of some importers' demand.
    """

    world_usd: float
    usd_per_t: float
    exporters: dict[str, float]
    importers: dict[str, float] = field(default_factory=dict)


_ORE_BUYERS = {"CHN": 8.0}
_CELL_MAKERS = {"CHN": 4.0, "KOR": 3.0, "JPN": 2.0}
_ENERGY_BUYERS = {"CHN": 2.0, "JPN": 2.0, "KOR": 2.0, "IND": 2.0}
_CHIP_ASSEMBLERS = {"CHN": 3.0, "VNM": 2.0, "MYS": 2.0, "MEX": 1.5}
_FAB_BUILDERS = {"TWN": 4.0, "KOR": 3.0, "CHN": 3.0, "USA": 1.5}

#: Exporter patterns of the strategic HS17 products, after public trade and production data.
PROFILES: dict[str, _Profile] = {
    # critical minerals
    "283691": _Profile(1.5e9, 8e3, {"CHL": 0.65, "ARG": 0.15, "CHN": 0.08}, _CELL_MAKERS),
    "282520": _Profile(
        1.2e9, 1e4, {"CHN": 0.70, "CHL": 0.10, "USA": 0.04, "RUS": 0.03}, _CELL_MAKERS
    ),
    "260500": _Profile(0.8e9, 1e4, {"COD": 0.90, "ZMB": 0.03}, _ORE_BUYERS),
    "282200": _Profile(0.9e9, 3.5e4, {"CHN": 0.40, "BEL": 0.15, "FIN": 0.15, "ZMB": 0.05}),
    "810520": _Profile(
        3e9,
        3e4,
        {"COD": 0.55, "CHN": 0.10, "FIN": 0.08, "BEL": 0.06, "NOR": 0.05, "CAN": 0.04},
        _ORE_BUYERS,
    ),
    "260400": _Profile(1.5e9, 50, {"PHL": 0.60, "IDN": 0.25, "AUS": 0.04}, _ORE_BUYERS),
    "750210": _Profile(
        12e9, 1.5e4, {"RUS": 0.25, "CAN": 0.12, "AUS": 0.12, "NOR": 0.10, "CHN": 0.05, "JPN": 0.05}
    ),
    "260200": _Profile(
        6e9, 170, {"ZAF": 0.45, "AUS": 0.20, "GAB": 0.15, "GHA": 0.05, "BRA": 0.04}, _ORE_BUYERS
    ),
    "250410": _Profile(0.3e9, 700, {"CHN": 0.60, "MOZ": 0.15, "MDG": 0.10, "BRA": 0.05}),
    "250490": _Profile(0.2e9, 600, {"CHN": 0.62, "MDG": 0.10, "BRA": 0.10}),
    "380110": _Profile(1.5e9, 3e3, {"CHN": 0.62, "JPN": 0.12, "DEU": 0.06, "USA": 0.05}),
    "284610": _Profile(0.2e9, 5e3, {"CHN": 0.65, "JPN": 0.06, "MYS": 0.06, "USA": 0.04}),
    "284690": _Profile(
        1e9, 1.5e4, {"CHN": 0.70, "MYS": 0.10, "JPN": 0.04, "USA": 0.03, "VNM": 0.03}
    ),
    "280530": _Profile(0.3e9, 4e4, {"CHN": 0.85, "VNM": 0.05, "JPN": 0.03}),
    "810194": _Profile(
        0.3e9, 4e4, {"CHN": 0.60, "DEU": 0.08, "VNM": 0.08, "AUT": 0.06, "USA": 0.05}
    ),
    "811010": _Profile(0.3e9, 8e3, {"CHN": 0.60, "VNM": 0.12, "RUS": 0.08, "BOL": 0.05}),
    "811292": _Profile(
        0.4e9, 3e5, {"CHN": 0.75, "JPN": 0.06, "USA": 0.05, "DEU": 0.04, "RUS": 0.03}
    ),
    "810411": _Profile(1.2e9, 2.5e3, {"CHN": 0.85, "ISR": 0.04, "KAZ": 0.02, "TUR": 0.02}),
    "810820": _Profile(1e9, 1e4, {"JPN": 0.35, "KAZ": 0.20, "CHN": 0.15, "UKR": 0.05}),
    "280469": _Profile(3e9, 2e3, {"CHN": 0.45, "BRA": 0.12, "NOR": 0.12, "FRA": 0.06, "RUS": 0.05}),
    "740311": _Profile(
        80e9,
        6.5e3,
        {
            "CHL": 0.30,
            "COD": 0.12,
            "RUS": 0.08,
            "ZMB": 0.08,
            "JPN": 0.06,
            "PER": 0.05,
            "KAZ": 0.05,
            "AUS": 0.04,
        },
        {"CHN": 4.0},
    ),
    "711011": _Profile(
        15e9, 3e7, {"ZAF": 0.55, "RUS": 0.08, "DEU": 0.07, "GBR": 0.06, "CHE": 0.06, "ZWE": 0.04}
    ),
    "711021": _Profile(
        25e9, 7e7, {"RUS": 0.40, "ZAF": 0.20, "GBR": 0.08, "CHE": 0.07, "DEU": 0.06, "USA": 0.06}
    ),
    "260600": _Profile(4e9, 45, {"GIN": 0.50, "AUS": 0.35, "BRA": 0.05, "MYS": 0.03}, _ORE_BUYERS),
    "252921": _Profile(0.15e9, 250, {"MNG": 0.45, "CHN": 0.15, "MEX": 0.15, "ZAF": 0.06}),
    "252922": _Profile(
        0.5e9, 400, {"MEX": 0.35, "CHN": 0.20, "ZAF": 0.15, "MNG": 0.08, "VNM": 0.05}
    ),
    # semiconductors
    "854129": _Profile(
        12e9,
        2e5,
        {
            "CHN": 0.30,
            "JPN": 0.10,
            "MYS": 0.12,
            "DEU": 0.08,
            "PHL": 0.07,
            "KOR": 0.05,
            "USA": 0.05,
            "TWN": 0.05,
        },
    ),
    "854231": _Profile(
        250e9,
        8e6,
        {
            "TWN": 0.32,
            "CHN": 0.14,
            "MYS": 0.12,
            "KOR": 0.08,
            "USA": 0.08,
            "SGP": 0.06,
            "VNM": 0.05,
            "PHL": 0.04,
        },
        _CHIP_ASSEMBLERS,
    ),
    "854232": _Profile(
        150e9,
        5e6,
        {"KOR": 0.42, "TWN": 0.15, "CHN": 0.15, "JPN": 0.05, "SGP": 0.05, "USA": 0.05, "MYS": 0.04},
        _CHIP_ASSEMBLERS,
    ),
    "854233": _Profile(
        15e9,
        2e6,
        {
            "TWN": 0.22,
            "CHN": 0.20,
            "MYS": 0.15,
            "PHL": 0.10,
            "USA": 0.06,
            "KOR": 0.05,
            "SGP": 0.05,
            "THA": 0.04,
        },
        _CHIP_ASSEMBLERS,
    ),
    "854239": _Profile(
        120e9,
        3e6,
        {"TWN": 0.36, "KOR": 0.15, "CHN": 0.14, "MYS": 0.08, "SGP": 0.08, "JPN": 0.05, "USA": 0.04},
        _CHIP_ASSEMBLERS,
    ),
    "854290": _Profile(5e9, 1e6, {"TWN": 0.25, "KOR": 0.15, "CHN": 0.15, "USA": 0.10, "JPN": 0.10}),
    "381800": _Profile(
        15e9,
        2e5,
        {"JPN": 0.30, "TWN": 0.15, "KOR": 0.10, "DEU": 0.10, "USA": 0.08, "SGP": 0.05, "CHN": 0.05},
        _FAB_BUILDERS,
    ),
    "848610": _Profile(
        4e9,
        1e5,
        {"JPN": 0.35, "USA": 0.20, "DEU": 0.10, "KOR": 0.10, "NLD": 0.05, "CHN": 0.05},
        _FAB_BUILDERS,
    ),
    "848620": _Profile(
        60e9, 2e5, {"NLD": 0.30, "JPN": 0.25, "USA": 0.25, "SGP": 0.05, "KOR": 0.05}, _FAB_BUILDERS
    ),
    "848690": _Profile(
        30e9,
        1e5,
        {"USA": 0.30, "JPN": 0.25, "NLD": 0.15, "KOR": 0.08, "SGP": 0.05, "DEU": 0.05},
        _FAB_BUILDERS,
    ),
    "280429": _Profile(
        0.6e9,
        5e4,
        {"CHN": 0.20, "USA": 0.15, "UKR": 0.15, "RUS": 0.10, "JPN": 0.05, "DEU": 0.05},
        _FAB_BUILDERS,
    ),
    # batteries, magnets, solar
    "850760": _Profile(
        60e9,
        2e4,
        {"CHN": 0.65, "KOR": 0.10, "POL": 0.06, "JPN": 0.05, "HUN": 0.03, "DEU": 0.03, "USA": 0.02},
    ),
    "850780": _Profile(6e9, 1.5e4, {"CHN": 0.50, "KOR": 0.10, "JPN": 0.10, "USA": 0.05}),
    "850790": _Profile(5e9, 8e3, {"CHN": 0.40, "KOR": 0.15, "JPN": 0.15, "DEU": 0.05, "USA": 0.05}),
    "850511": _Profile(4e9, 4e4, {"CHN": 0.82, "JPN": 0.06, "DEU": 0.03, "VNM": 0.03, "PHL": 0.02}),
    "850519": _Profile(1.5e9, 3e3, {"CHN": 0.65, "JPN": 0.08, "DEU": 0.05, "KOR": 0.03}),
    "854140": _Profile(
        60e9,
        1.5e4,
        {"CHN": 0.62, "MYS": 0.08, "VNM": 0.07, "THA": 0.05, "KOR": 0.03, "JPN": 0.03, "DEU": 0.03},
    ),
    "280461": _Profile(3e9, 1e4, {"CHN": 0.60, "DEU": 0.15, "MYS": 0.10, "USA": 0.06, "JPN": 0.03}),
    # energy
    "271111": _Profile(
        100e9,
        250,
        {
            "QAT": 0.22,
            "AUS": 0.22,
            "USA": 0.15,
            "RUS": 0.08,
            "MYS": 0.06,
            "NGA": 0.05,
            "IDN": 0.04,
            "DZA": 0.03,
            "OMN": 0.03,
            "NOR": 0.02,
        },
        _ENERGY_BUYERS,
    ),
    "271121": _Profile(
        70e9,
        200,
        {"RUS": 0.35, "NOR": 0.25, "USA": 0.08, "CAN": 0.07, "DZA": 0.06, "NLD": 0.06, "KAZ": 0.03},
        {"DEU": 3.0, "ITA": 2.0, "JPN": 0.05, "KOR": 0.05},
    ),
    "270900": _Profile(
        650e9,
        330,
        {
            "SAU": 0.18,
            "RUS": 0.12,
            "CAN": 0.10,
            "USA": 0.08,
            "ARE": 0.07,
            "KWT": 0.05,
            "NGA": 0.05,
            "NOR": 0.04,
            "KAZ": 0.04,
            "BRA": 0.04,
        },
        _ENERGY_BUYERS,
    ),
    "270112": _Profile(
        50e9,
        100,
        {"AUS": 0.35, "IDN": 0.25, "RUS": 0.15, "USA": 0.07, "ZAF": 0.04, "CAN": 0.04, "MNG": 0.03},
        _ENERGY_BUYERS,
    ),
    # antibiotics and medicaments
    "294110": _Profile(1e9, 4e4, {"CHN": 0.55, "IND": 0.15, "AUT": 0.05, "ITA": 0.04, "ESP": 0.04}),
    "294120": _Profile(0.1e9, 4e4, {"CHN": 0.65, "IND": 0.10}),
    "294130": _Profile(0.3e9, 3e4, {"CHN": 0.65, "IND": 0.08}),
    "294150": _Profile(0.4e9, 6e4, {"CHN": 0.50, "IND": 0.15, "ITA": 0.06}),
    "294190": _Profile(5e9, 1e5, {"CHN": 0.40, "IND": 0.20, "ITA": 0.08, "ESP": 0.05}),
    "300410": _Profile(
        5e9, 3e4, {"IND": 0.12, "AUT": 0.10, "DEU": 0.10, "ITA": 0.08, "FRA": 0.06, "CHE": 0.05}
    ),
    "300420": _Profile(
        15e9,
        5e4,
        {
            "IND": 0.15,
            "DEU": 0.10,
            "ITA": 0.08,
            "FRA": 0.07,
            "CHE": 0.06,
            "CHN": 0.06,
            "USA": 0.05,
            "IRL": 0.05,
        },
    ),
    "300490": _Profile(
        350e9,
        1.5e5,
        {
            "DEU": 0.15,
            "CHE": 0.12,
            "USA": 0.10,
            "IRL": 0.08,
            "BEL": 0.07,
            "FRA": 0.06,
            "ITA": 0.06,
            "NLD": 0.05,
            "GBR": 0.05,
            "IND": 0.04,
        },
    ),
    # fertilizers
    "310210": _Profile(
        10e9,
        250,
        {
            "RUS": 0.15,
            "QAT": 0.12,
            "SAU": 0.09,
            "CHN": 0.08,
            "OMN": 0.06,
            "EGY": 0.06,
            "DZA": 0.05,
            "NGA": 0.04,
        },
    ),
    "310230": _Profile(2e9, 250, {"RUS": 0.40, "LTU": 0.05, "POL": 0.05, "UKR": 0.05}),
    "310420": _Profile(
        10e9, 250, {"CAN": 0.38, "RUS": 0.20, "BLR": 0.15, "ISR": 0.05, "DEU": 0.04}
    ),
    "310520": _Profile(6e9, 350, {"RUS": 0.25, "CHN": 0.10, "NOR": 0.08, "FIN": 0.04}),
    "310530": _Profile(8e9, 350, {"CHN": 0.25, "MAR": 0.20, "RUS": 0.15, "SAU": 0.15, "USA": 0.10}),
    "310540": _Profile(6e9, 350, {"MAR": 0.25, "RUS": 0.20, "CHN": 0.15, "SAU": 0.10, "USA": 0.07}),
    "281410": _Profile(
        5e9, 250, {"RUS": 0.20, "SAU": 0.12, "CAN": 0.08, "DZA": 0.08, "EGY": 0.06, "IDN": 0.05}
    ),
    # machine tools and robots
    "845611": _Profile(
        5e9, 3e4, {"DEU": 0.28, "CHN": 0.20, "JPN": 0.12, "CHE": 0.06, "ITA": 0.05, "USA": 0.05}
    ),
    "845710": _Profile(
        8e9, 3e4, {"JPN": 0.35, "DEU": 0.15, "TWN": 0.15, "ITA": 0.05, "KOR": 0.05, "CHN": 0.05}
    ),
    "845811": _Profile(
        4e9, 2.5e4, {"JPN": 0.30, "DEU": 0.15, "TWN": 0.10, "KOR": 0.08, "CHN": 0.06, "ITA": 0.05}
    ),
    "845891": _Profile(
        1e9, 2.5e4, {"JPN": 0.25, "DEU": 0.20, "TWN": 0.10, "CHE": 0.10, "CHN": 0.05}
    ),
    "846693": _Profile(
        9e9,
        3e4,
        {"DEU": 0.20, "JPN": 0.20, "CHN": 0.10, "ITA": 0.07, "TWN": 0.06, "USA": 0.06, "CHE": 0.06},
    ),
    "847950": _Profile(
        3e9,
        4e4,
        {"JPN": 0.35, "DEU": 0.20, "CHN": 0.08, "ITA": 0.05, "KOR": 0.04, "USA": 0.04, "SWE": 0.03},
    ),
    # aircraft, ships, electric vehicles
    "880330": _Profile(
        70e9,
        2e5,
        {"USA": 0.35, "FRA": 0.15, "DEU": 0.10, "GBR": 0.10, "CAN": 0.05, "JPN": 0.03, "SGP": 0.03},
    ),
    "880320": _Profile(5e9, 1e5, {"USA": 0.30, "FRA": 0.30, "GBR": 0.12, "CAN": 0.10, "DEU": 0.04}),
    "841191": _Profile(
        70e9,
        3e5,
        {"USA": 0.35, "GBR": 0.15, "FRA": 0.12, "DEU": 0.08, "CAN": 0.04, "SGP": 0.04, "JPN": 0.03},
    ),
    "841112": _Profile(
        50e9, 1e6, {"USA": 0.40, "FRA": 0.20, "GBR": 0.20, "DEU": 0.05, "CAN": 0.03}
    ),
    "840810": _Profile(
        5e9,
        2e4,
        {"JPN": 0.15, "DEU": 0.15, "USA": 0.10, "CHN": 0.10, "KOR": 0.08, "ITA": 0.05, "FIN": 0.05},
    ),
    "848710": _Profile(
        1e9, 1.5e4, {"CHN": 0.20, "KOR": 0.15, "DEU": 0.10, "JPN": 0.10, "NLD": 0.06, "NOR": 0.05}
    ),
    "840721": _Profile(5e9, 2.5e4, {"JPN": 0.55, "USA": 0.25, "CHN": 0.07}),
    "870380": _Profile(
        60e9,
        2.5e4,
        {
            "DEU": 0.30,
            "USA": 0.15,
            "CHN": 0.12,
            "BEL": 0.05,
            "KOR": 0.05,
            "FRA": 0.05,
            "GBR": 0.03,
            "SWE": 0.03,
        },
    ),
    "870360": _Profile(
        25e9, 2.5e4, {"DEU": 0.35, "SWE": 0.10, "GBR": 0.05, "BEL": 0.05, "JPN": 0.05, "CHN": 0.05}
    ),
    "870370": _Profile(3e9, 2.5e4, {"DEU": 0.50, "SWE": 0.15, "BEL": 0.10, "FRA": 0.05}),
}


@dataclass(frozen=True)
class _Shift:
    """A change in one exporter's weight for some products and importers, by year.

    The factor is ``scale * exp(drift * (year - 2020))`` times the factor of the latest step
    whose first year is not after ``year``.
    """

    products: tuple[str, ...]
    exporter: str
    importers: tuple[str, ...] | None = None  # None: every importer
    scale: float = 1.0
    drift: float = 0.0
    steps: tuple[tuple[int, float], ...] = ()

    def factor(self, year: int) -> float:
        """The multiplier of the exporter's weight in ``year``."""
        step = 1.0
        for first_year, value in self.steps:
            if year >= first_year:
                step = value
        return self.scale * math.exp(self.drift * (year - 2020)) * step


_EU = tuple(sorted(EU_MEMBERS))

#: Events and trends, so that analyses over several years show what real data shows.
SHIFTS: tuple[_Shift, ...] = (
    # Japan has bought rare earths outside China since the 2010 embargo, more every year.
    _Shift(("284610", "284690", "280530"), "CHN", ("JPN",), scale=0.6, drift=-0.15),
    _Shift(("284690",), "MYS", ("JPN",), scale=1.5),
    # Russian pipeline gas to the EU: the main supply until 2021, mostly stopped in 2022.
    _Shift(("271121",), "RUS", _EU, scale=3.0, steps=((2022, 0.08), (2023, 0.02))),
    _Shift(("271121",), "NOR", _EU, steps=((2022, 1.3),)),
    _Shift(("271111",), "USA", _EU, steps=((2022, 2.5), (2023, 3.0))),
    # EU embargo on Russian crude (December 2022); the oil went to India instead.
    _Shift(("270900",), "RUS", _EU, steps=((2023, 0.05),)),
    _Shift(("270900",), "RUS", ("IND",), steps=((2022, 6.0), (2023, 10.0))),
    # Indonesia's ban on nickel ore exports (January 2020).
    _Shift(("260400",), "IDN", steps=((2020, 0.15),)),
    # Ukrainian neon after the Russian invasion (2022).
    _Shift(("280429",), "UKR", steps=((2022, 0.3),)),
    # Chinese export controls: gallium and germanium (August 2023), graphite (December 2023),
    # antimony (September 2024), and the ban of all three to the United States (December 2024).
    _Shift(("811292",), "CHN", steps=((2023, 0.6), (2024, 0.4))),
    _Shift(("250410", "250490", "380110"), "CHN", steps=((2024, 0.75),)),
    _Shift(("811010",), "CHN", steps=((2024, 0.7), (2025, 0.3))),
    _Shift(("811292", "811010"), "CHN", ("USA",), steps=((2025, 0.01),)),
    # China's exports of electric cars took off after 2020.
    _Shift(("870380",), "CHN", drift=0.35),
)

#: Demand multipliers of the big manufacturing importers, for every strategic product.
_STRATEGIC_IMPORTERS = {"JPN": 2.5, "DEU": 2.0, "KOR": 1.5}
#: Oil and gas price level relative to 2020 (the lng_energy sector); nearest year outside.
_ENERGY_PRICE = {2017: 1.2, 2018: 1.5, 2019: 1.3, 2020: 1.0, 2021: 1.5, 2022: 2.2, 2023: 1.6}
_NOMINAL_GROWTH = 0.05  # per year, from 2020
_SMALLEST_FLOW_USD = 1_000.0  # smaller flows are dropped: noise that only lengthens the table


@dataclass
class _Lanes:
    """The trade lanes of one product: who sells to whom, fixed across years."""

    product: str
    exporter: np.ndarray
    importer: np.ndarray
    weight: np.ndarray  # exporter weight times pair affinity, before shifts
    demand: np.ndarray  # the importer's share of world imports, per lane
    world_usd: float
    usd_per_t: float
    energy: bool
    shifts: list[tuple[_Shift, np.ndarray]]  # each shift with the lanes it applies to


def demo_extract(years: Iterable[int] = (2020, 2021, 2022), seed: int = 20240501) -> Extract:
    """The demo world as an Extract for the store, marked as demo data everywhere."""
    asked = _years(years)
    trade = demo_trade(asked, seed)
    products = demo_products()

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        number = 0
        for batch in trade.to_batches():
            for row in batch.to_pylist():
                number += 1
                yield number, row

    def build_trade(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        return con.from_arrow(trade)

    def build_products(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        return con.from_arrow(products)

    years_text = ", ".join(str(year) for year in asked)
    note = (
        f"demo data (synthetic): invented {CLASSIFICATION} trade of {len(COUNTRIES)} countries "
        f"in {products.num_rows} products for {years_text} (seed {seed}); the patterns follow "
        "public knowledge, the numbers are not real"
    )
    return Extract(
        source=SOURCE,
        release=RELEASE,
        files=[],
        trade=[TradePart(origin="demo world", slice="all", build=build_trade, rows=rows)],
        tables={"products": build_products},
        demo=True,
        notes=[note],
    )


def demo_products() -> pa.Table:
    """Descriptions of the demo's products (schema ``PRODUCTS``): strategic, then ordinary."""
    codes, descriptions = _product_list()
    table = pa.table(
        {
            "product": codes,
            "classification": [CLASSIFICATION] * len(codes),
            "level": pa.array([6] * len(codes), pa.int8()),
            "description": descriptions,
        }
    )
    return conform(table, PRODUCTS, what="demo products")


def demo_trade(years: Iterable[int] = (2020, 2021, 2022), seed: int = 20240501) -> pa.Table:
    """The demo world's flows (schema ``TRADE``), one row per year, exporter, importer, product.

    The lanes come from ``seed`` alone and each year's values from ``(seed, year)``, so a year
    is the same whichever other years are asked for.
    """
    codes = np.array([country[0] for country in COUNTRIES])
    energy = set(sector_products("lng_energy", CLASSIFICATION))
    rng = np.random.default_rng(seed)
    affinity = _affinity()
    lanes = [
        _lanes(code, code in PROFILES, code in energy, affinity, rng) for code in _product_list()[0]
    ]
    parts = [_year_flows(lanes, year, seed) for year in _years(years)]
    product_codes = pa.array([lane.product for lane in lanes], pa.string())
    columns = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    rows = len(columns["value_usd"])
    quantity = columns["quantity_t"]
    table = pa.table(
        {
            "year": pa.array(columns["year"], pa.int16()),
            "exporter": _labels(columns["exporter"], codes),
            "importer": _labels(columns["importer"], codes),
            "product": pa.DictionaryArray.from_arrays(
                pa.array(columns["product"], pa.int32()), product_codes
            ).cast(pa.string()),
            "classification": pa.array([CLASSIFICATION] * rows, pa.string()),
            "level": pa.array(np.full(rows, 6, dtype=np.int8)),
            "value_usd": pa.array(columns["value_usd"]),
            "quantity_t": pa.array(quantity, mask=np.isnan(quantity)),
            "source": pa.array([SOURCE] * rows, pa.string()),
            "release": pa.array([RELEASE] * rows, pa.string()),
            "reporter_side": pa.array(["reconciled"] * rows, pa.string()),
        }
    )
    return conform(table, TRADE, what="demo trade")


def _years(years: Iterable[int]) -> list[int]:
    """The distinct years asked for, sorted; at least one."""
    asked = sorted({int(year) for year in years})
    if not asked:
        raise InputError(
            "no years asked for the demo world", field="years", hint="pass one or more, e.g. 2022"
        )
    return asked


def _product_list() -> tuple[list[str], list[str]]:
    """Codes and descriptions of the demo's products: the profiled strategic ones, then ordinary.

    The strategic ones are the HS17 codes of the catalogue that ``PROFILES`` describes; the
    catalogue's other codes are left out, which keeps the demo world small and its patterns
    known.
    """
    catalogue = strategic_products()
    catalogue = catalogue[
        (catalogue["classification"] == CLASSIFICATION) & catalogue["product"].isin(PROFILES)
    ].sort_values("product")
    ordinary = sorted(ORDINARY_PRODUCTS.items())
    codes = list(catalogue["product"]) + [code for code, _ in ordinary]
    descriptions = list(catalogue["description"]) + [text for _, text in ordinary]
    return codes, descriptions


def _affinity() -> np.ndarray:
    """Pair affinity before noise: 1, x2.5 within a region, x1.6 more within the EU, 0 to self."""
    in_eu = np.array([country[2] == "eu" for country in COUNTRIES])
    regions = np.where(in_eu, "europe", np.array([country[2] for country in COUNTRIES]))
    affinity = np.where(regions[:, None] == regions[None, :], 2.5, 1.0)
    affinity *= np.where(in_eu[:, None] & in_eu[None, :], 1.6, 1.0)
    np.fill_diagonal(affinity, 0.0)
    return affinity


def _lanes(
    product: str, strategic: bool, energy: bool, affinity: np.ndarray, rng: np.random.Generator
) -> _Lanes:
    """Draw the exporters, importers and lanes of one product (gravity-like, sparse)."""
    index = {country[0]: position for position, country in enumerate(COUNTRIES)}
    size = np.array([country[1] for country in COUNTRIES], dtype=float)
    count = len(COUNTRIES)
    profile = PROFILES.get(product)
    # Leading exporters as profiled; the rest of the weight goes to the others by capacity,
    # which is all of it for ordinary goods (big economies export more of everything).
    lead = np.zeros(count)
    for code, share in (profile.exporters if profile else {}).items():
        lead[index[code]] = share
    capacity = size**0.7 * rng.lognormal(0.0, 0.7, count)
    capacity[lead > 0] = 0.0
    exporter_weight = lead + (1.0 - lead.sum()) * capacity / capacity.sum()
    demand = size**0.8 * rng.lognormal(0.0, 0.5, count) / (1.0 + 8.0 * exporter_weight)
    boosts = dict(_STRATEGIC_IMPORTERS) if strategic else {}
    for code, factor in (profile.importers if profile else {}).items():
        boosts[code] = boosts.get(code, 1.0) * factor
    for code, factor in boosts.items():
        demand[index[code]] *= factor
    demand /= demand.sum()
    # Lanes from a profiled exporter vary little around the profile; others vary more.
    spread = np.where(lead > 0, 0.15, 0.5)
    pair = affinity * np.exp(spread[:, None] * rng.standard_normal((count, count)))
    score = exporter_weight[:, None] * demand[None, :] * pair
    score /= score.sum()
    lanes = rng.integers(120, 300) if profile else rng.integers(220, 400)
    rate = _rate_for(score, float(lanes))
    keep = rng.random((count, count)) < -np.expm1(-rate * score)
    keep[np.argmax(score, axis=0), np.arange(count)] = True  # every country buys something
    exporter, importer = np.nonzero(keep & (pair > 0))
    shifts = []
    for shift in SHIFTS:
        if product in shift.products:
            mask = exporter == index[shift.exporter]
            if shift.importers is not None:
                mask &= np.isin(importer, [index[code] for code in shift.importers])
            shifts.append((shift, mask))
    return _Lanes(
        product=product,
        exporter=exporter,
        importer=importer,
        weight=exporter_weight[exporter] * pair[exporter, importer],
        demand=demand[importer],
        world_usd=profile.world_usd if profile else float(rng.lognormal(math.log(3e9), 1.0)),
        usd_per_t=profile.usd_per_t if profile else float(rng.lognormal(math.log(3e3), 1.0)),
        energy=energy,
        shifts=shifts,
    )


def _rate_for(score: np.ndarray, target: float) -> float:
    """The rate c for which lanes kept with probability 1 - exp(-c * score) number ``target``."""
    low, high = 1.0, 1e9
    for _ in range(40):
        middle = math.sqrt(low * high)
        if -np.expm1(-middle * score).sum() < target:
            low = middle
        else:
            high = middle
    return low


def _year_flows(lanes: list[_Lanes], year: int, seed: int) -> dict[str, np.ndarray]:
    """Values and quantities of every lane in ``year``: importer demand split by weights."""
    rng = np.random.default_rng([seed, year])
    price = _ENERGY_PRICE[min(max(year, min(_ENERGY_PRICE)), max(_ENERGY_PRICE))]
    growth = (1.0 + _NOMINAL_GROWTH) ** (year - 2020)
    parts: dict[str, list[np.ndarray]] = {
        name: [] for name in ("exporter", "importer", "product", "value_usd", "quantity_t")
    }
    for position, lane in enumerate(lanes):
        weight = lane.weight.copy()
        for shift, mask in lane.shifts:
            weight[mask] *= shift.factor(year)
        totals = np.bincount(lane.importer, weights=weight, minlength=len(COUNTRIES))
        share = weight / totals[lane.importer]
        level = lane.world_usd * growth * (price if lane.energy else 1.0) * rng.lognormal(0, 0.05)
        size = len(weight)
        steadiness = np.sqrt(1.0 + 20.0 * share)  # big flows vary less from year to year
        value = np.round(level * lane.demand * share * rng.lognormal(0.0, 0.1 / steadiness))
        unit_value = lane.usd_per_t * (price if lane.energy else 1.0)
        quantity = value / (unit_value * rng.lognormal(0.0, 0.15, size))
        quantity[rng.random(size) < 0.05] = np.nan
        kept = value >= _SMALLEST_FLOW_USD
        parts["exporter"].append(lane.exporter[kept])
        parts["importer"].append(lane.importer[kept])
        parts["product"].append(np.full(kept.sum(), position))
        parts["value_usd"].append(value[kept])
        parts["quantity_t"].append(quantity[kept])
    flows = {name: np.concatenate(arrays) for name, arrays in parts.items()}
    flows["year"] = np.full(len(flows["value_usd"]), year, dtype=np.int16)
    return flows


def _labels(positions: np.ndarray, codes: np.ndarray) -> pa.Array:
    """Country codes for positions in ``COUNTRIES``, built through a dictionary (fast)."""
    return pa.DictionaryArray.from_arrays(
        pa.array(positions, pa.int32()), pa.array(codes, pa.string())
    ).cast(pa.string())
