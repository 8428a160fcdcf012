"""A plausible Guangdong utility as plain data: org units, staff, key accounts with their electricity
accounts, metering points, contacts and account teams.

Pure and deterministic: everything comes from one ``random.Random(seed)`` and one seeded
``Faker("zh_CN")``, never from global random state, and nothing here touches the database, so the
same generator feeds ``seed_demo`` (services.py) and the import benchmark's CSV (exporting.py).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from faker import Faker
from pypinyin import lazy_pinyin

from gridkam.core.choices import OrgUnitKind
from gridkam.customers.choices import (
    AccountStatus,
    AssignmentRole,
    BasicChargeMethod,
    ContactRole,
    CreditRating,
    ImportanceClass,
    MeteringPurpose,
    PowerFactorStandard,
    SupplyMode,
)
from gridkam.customers.validators import CREDIT_CODE_CHARSET, credit_code_check_char
from gridkam.users.choices import Role

# Assignments and history are dated relative to a fixed day, not today, so that a seed gives the
# same data whenever it runs.
AS_OF = dt.date(2025, 12, 31)


# --- The organisation -------------------------------------------------------------------------


@dataclass(frozen=True)
class District:
    name: str
    division: str  # administrative division code (GB/T 2260), characters 3-8 of a credit code
    unit_code: str  # the org unit owning key accounts there; "" for the city's service centre


@dataclass(frozen=True)
class City:
    code: str
    name: str
    prefix: str  # how local enterprises start their names
    division: str
    area_code: str  # landline prefix
    landline_digits: int
    account_prefix: str  # first digits of account numbers issued by this city
    weight: float  # share of the province's key accounts
    counties: tuple[tuple[str, str], ...]  # (unit code, name) of county companies
    districts: tuple[District, ...]

    @property
    def centre_code(self) -> str:
        return f"{self.code}-KA"

    @property
    def username(self) -> str:
        return self.code.lower()


PROVINCE = ("GD", "广东电网")

CITIES: tuple[City, ...] = (
    City(
        code="HZ",
        name="惠州供电局",
        prefix="惠州",
        division="441300",
        area_code="0752",
        landline_digits=7,
        account_prefix="0313",
        weight=0.40,
        counties=(("HZ-HY", "惠阳供电局"), ("HZ-BL", "博罗供电局")),
        districts=(
            District("惠城区", "441302", ""),
            District("惠阳区", "441303", "HZ-HY"),
            District("博罗县", "441322", "HZ-BL"),
            District("惠东县", "441323", ""),
        ),
    ),
    City(
        code="ST",
        name="汕头供电局",
        prefix="汕头",
        division="440500",
        area_code="0754",
        landline_digits=8,
        account_prefix="0305",
        weight=0.30,
        counties=(("ST-CY", "潮阳供电局"),),
        districts=(
            District("龙湖区", "440507", ""),
            District("金平区", "440511", ""),
            District("澄海区", "440515", ""),
            District("潮阳区", "440513", "ST-CY"),
            District("潮南区", "440514", "ST-CY"),
        ),
    ),
    City(
        code="JM",
        name="江门供电局",
        prefix="江门",
        division="440700",
        area_code="0750",
        landline_digits=7,
        account_prefix="0307",
        weight=0.30,
        counties=(("JM-XH", "新会供电局"), ("JM-TS", "台山供电局")),
        districts=(
            District("蓬江区", "440703", ""),
            District("江海区", "440704", ""),
            District("新会区", "440705", "JM-XH"),
            District("台山市", "440781", "JM-TS"),
        ),
    ),
)
CITY_BY_CODE = {c.code: c for c in CITIES}


@dataclass(frozen=True)
class OrgUnitSpec:
    code: str
    name: str
    kind: str
    parent_code: str | None


def org_unit_specs() -> list[OrgUnitSpec]:
    """Province → city → (service centre, county companies), parents before children."""
    specs = [OrgUnitSpec(PROVINCE[0], PROVINCE[1], OrgUnitKind.PROVINCE, None)]
    for city in CITIES:
        specs.append(OrgUnitSpec(city.code, city.name, OrgUnitKind.CITY, PROVINCE[0]))
        specs.append(
            OrgUnitSpec(city.centre_code, f"{city.prefix}大客户服务中心", OrgUnitKind.SERVICE_CENTRE, city.code)
        )
        specs.extend(OrgUnitSpec(code, name, OrgUnitKind.COUNTY, city.code) for code, name in city.counties)
    return specs


# --- Industries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndustryProfile:
    """How enterprises of one kind are named and supplied: what makes a steel works look like one."""

    key: str
    division: str  # GB/T 4754-2017 division code, e.g. "C31"
    suffixes: tuple[str, ...]
    weight: float  # relative frequency among key accounts
    voltages: dict[str, float]  # main supply voltage (kV) → weight
    load_factor: tuple[float, float]
    pf_standard: str = PowerFactorStandard.PF_090
    importance: dict[str, float] = field(default_factory=dict)  # class → probability
    group_suffix: str = ""  # how the head of a group of this kind is named; "" = no groups
    institution: bool = False  # public institution (事业单位): credit code starts with 12
    max_kva_10kv: int = 20000


V10 = {"10": 1.0}
PROFILES: tuple[IndustryProfile, ...] = (
    IndustryProfile(
        "steel",
        "C31",
        ("钢铁有限公司", "特钢有限公司", "钢管有限公司", "不锈钢有限公司"),
        3,
        {"10": 35, "35": 30, "110": 30, "220": 5},
        (0.70, 0.85),
        importance={ImportanceClass.SECOND: 0.2, ImportanceClass.FIRST: 0.05},
        group_suffix="钢铁集团有限公司",
    ),
    IndustryProfile(
        "nonferrous",
        "C32",
        ("铝业有限公司", "铜业有限公司", "有色金属有限公司"),
        3,
        {"10": 50, "35": 30, "110": 20},
        (0.70, 0.85),
        importance={ImportanceClass.SECOND: 0.1},
        group_suffix="有色金属集团有限公司",
    ),
    IndustryProfile(
        "petrochem",
        "C25",
        ("石化有限公司", "炼化有限公司", "石油化工有限公司"),
        1.5,
        {"10": 20, "35": 30, "110": 40, "220": 10},
        (0.80, 0.92),
        importance={ImportanceClass.SPECIAL: 0.05, ImportanceClass.FIRST: 0.35, ImportanceClass.SECOND: 0.3},
        group_suffix="石化集团有限公司",
    ),
    IndustryProfile(
        "chemical",
        "C26",
        ("化工有限公司", "新材料有限公司", "精细化工有限公司", "涂料有限公司"),
        5,
        {"10": 70, "35": 25, "110": 5},
        (0.60, 0.85),
        importance={ImportanceClass.FIRST: 0.05, ImportanceClass.SECOND: 0.25},
        group_suffix="化工集团有限公司",
    ),
    IndustryProfile(
        "chemfibre", "C28", ("化纤有限公司", "化学纤维有限公司"), 1.5, {"10": 60, "35": 35, "110": 5}, (0.75, 0.90)
    ),
    IndustryProfile(
        "electronics",
        "C39",
        (
            "电子科技有限公司",
            "电子有限公司",
            "光电科技有限公司",
            "半导体有限公司",
            "通讯设备有限公司",
            "智能科技有限公司",
        ),
        14,
        {"10": 80, "20": 10, "35": 8, "110": 2},
        (0.50, 0.75),
        importance={ImportanceClass.SECOND: 0.05},
        group_suffix="电子集团有限公司",
    ),
    IndustryProfile(
        "electrical",
        "C38",
        ("电器有限公司", "电池有限公司", "新能源科技有限公司", "电线电缆有限公司", "照明电器有限公司"),
        8,
        {"10": 80, "20": 5, "35": 12, "110": 3},
        (0.50, 0.75),
        importance={ImportanceClass.SECOND: 0.05},
        group_suffix="电器集团有限公司",
    ),
    IndustryProfile(
        "building",
        "C30",
        ("水泥有限公司", "陶瓷有限公司", "玻璃有限公司", "建材有限公司"),
        5,
        {"10": 50, "35": 35, "110": 15},
        (0.65, 0.85),
        group_suffix="建材集团有限公司",
    ),
    IndustryProfile(
        "textile",
        "C17",
        ("纺织有限公司", "印染有限公司", "织造有限公司"),
        7,
        {"10": 90, "35": 10},
        (0.55, 0.80),
        group_suffix="纺织集团有限公司",
    ),
    IndustryProfile("garment", "C18", ("服装有限公司", "服饰有限公司", "内衣有限公司"), 3, V10, (0.40, 0.60)),
    IndustryProfile("shoes", "C19", ("鞋业有限公司", "皮革有限公司"), 1.5, V10, (0.40, 0.60)),
    IndustryProfile("wood", "C20", ("木业有限公司", "竹木制品有限公司"), 1, V10, (0.45, 0.65)),
    IndustryProfile("furniture", "C21", ("家具有限公司", "家居有限公司"), 2, V10, (0.40, 0.60)),
    IndustryProfile(
        "paper",
        "C22",
        ("造纸有限公司", "纸业有限公司", "包装材料有限公司"),
        4,
        {"10": 60, "35": 35, "110": 5},
        (0.70, 0.85),
        group_suffix="纸业集团有限公司",
    ),
    IndustryProfile("printing", "C23", ("印刷有限公司", "包装印刷有限公司"), 1.5, V10, (0.45, 0.65)),
    IndustryProfile("toys", "C24", ("玩具有限公司", "玩具实业有限公司", "工艺品有限公司"), 3, V10, (0.40, 0.60)),
    IndustryProfile(
        "pharma",
        "C27",
        ("制药有限公司", "药业有限公司", "生物医药有限公司"),
        3,
        {"10": 85, "35": 15},
        (0.60, 0.80),
        importance={ImportanceClass.SECOND: 0.2},
        group_suffix="药业集团有限公司",
    ),
    IndustryProfile(
        "plastics",
        "C29",
        ("塑胶制品有限公司", "塑料制品有限公司", "橡胶制品有限公司"),
        6,
        {"10": 95, "35": 5},
        (0.50, 0.75),
    ),
    IndustryProfile(
        "metalwork",
        "C33",
        ("五金制品有限公司", "金属制品有限公司", "不锈钢制品有限公司"),
        6,
        {"10": 95, "35": 5},
        (0.45, 0.70),
    ),
    IndustryProfile(
        "machinery",
        "C34",
        ("机械有限公司", "精密机械有限公司", "机电设备有限公司"),
        5,
        {"10": 95, "35": 5},
        (0.45, 0.65),
    ),
    IndustryProfile(
        "autoparts",
        "C36",
        ("汽车零部件有限公司", "汽车配件有限公司", "汽车有限公司"),
        4,
        {"10": 75, "35": 20, "110": 5},
        (0.50, 0.70),
        group_suffix="汽车集团有限公司",
    ),
    IndustryProfile(
        "shipbuilding", "C37", ("船舶制造有限公司", "船舶工业有限公司"), 0.7, {"10": 70, "35": 30}, (0.45, 0.65)
    ),
    IndustryProfile("instruments", "C40", ("仪器仪表有限公司", "测控技术有限公司"), 1, V10, (0.45, 0.65)),
    IndustryProfile("recycling", "C42", ("再生资源有限公司", "资源综合利用有限公司"), 1, V10, (0.55, 0.75)),
    IndustryProfile(
        "food",
        "C14",
        ("食品有限公司", "食品科技有限公司"),
        4,
        {"10": 95, "35": 5},
        (0.50, 0.70),
        group_suffix="食品集团有限公司",
    ),
    IndustryProfile(
        "beverage", "C15", ("饮料有限公司", "啤酒有限公司", "茶业有限公司"), 2, {"10": 90, "35": 10}, (0.50, 0.70)
    ),
    IndustryProfile("feed", "C13", ("饲料有限公司", "粮油有限公司", "农产品加工有限公司"), 2, V10, (0.55, 0.75)),
    IndustryProfile(
        "mining", "B10", ("矿业有限公司", "石材有限公司", "矿产有限公司"), 1, {"10": 60, "35": 40}, (0.60, 0.80)
    ),
    IndustryProfile(
        "datacentre",
        "I65",
        ("数据中心", "云计算数据中心", "大数据中心"),
        2.5,
        {"10": 70, "110": 30},
        (0.75, 0.90),
        importance={ImportanceClass.SECOND: 0.3},
    ),
    IndustryProfile(
        "hospital",
        "Q84",
        ("医院", "人民医院", "中心医院", "妇幼保健院"),
        2.5,
        V10,
        (0.45, 0.60),
        pf_standard=PowerFactorStandard.PF_085,
        importance={ImportanceClass.FIRST: 0.4, ImportanceClass.SECOND: 0.4},
        institution=True,
        max_kva_10kv=10000,
    ),
    IndustryProfile(
        "college",
        "P83",
        ("职业技术学院", "理工学院", "技师学院"),
        1,
        V10,
        (0.35, 0.50),
        pf_standard=PowerFactorStandard.PF_085,
        # Examination venues are temporary important users (高考 and other national exams).
        importance={ImportanceClass.TEMPORARY: 0.3},
        institution=True,
        max_kva_10kv=8000,
    ),
    IndustryProfile(
        "water",
        "D46",
        ("水务有限公司", "自来水有限公司", "供水有限公司"),
        1.5,
        {"10": 70, "35": 30},
        (0.60, 0.80),
        importance={ImportanceClass.SECOND: 0.6},
    ),
    IndustryProfile(
        "gas",
        "D45",
        ("燃气有限公司", "天然气有限公司"),
        0.8,
        V10,
        (0.55, 0.75),
        importance={ImportanceClass.SECOND: 0.5},
    ),
    IndustryProfile(
        "sewage",
        "N77",
        ("污水处理有限公司", "环保科技有限公司", "环境服务有限公司"),
        1.5,
        V10,
        (0.65, 0.85),
        importance={ImportanceClass.SECOND: 0.3},
    ),
    IndustryProfile(
        "mall",
        "F52",
        ("购物中心有限公司", "商业广场有限公司", "百货有限公司"),
        2.5,
        V10,
        (0.45, 0.60),
        pf_standard=PowerFactorStandard.PF_085,
        max_kva_10kv=12500,
    ),
    IndustryProfile(
        "hotel",
        "H61",
        ("大酒店有限公司", "酒店管理有限公司", "度假酒店有限公司"),
        1.5,
        V10,
        (0.45, 0.60),
        pf_standard=PowerFactorStandard.PF_085,
        max_kva_10kv=8000,
    ),
    IndustryProfile(
        "property",
        "K70",
        ("置业有限公司", "地产开发有限公司"),
        1.5,
        V10,
        (0.40, 0.55),
        pf_standard=PowerFactorStandard.PF_085,
        max_kva_10kv=12500,
    ),
    IndustryProfile(
        "port",
        "G55",
        ("港务有限公司", "码头有限公司", "港口有限公司"),
        0.8,
        {"10": 60, "35": 40},
        (0.45, 0.65),
        importance={ImportanceClass.SECOND: 0.2},
    ),
    IndustryProfile(
        "logistics",
        "G59",
        ("物流有限公司", "冷链物流有限公司", "仓储有限公司"),
        2,
        V10,
        (0.55, 0.75),
        pf_standard=PowerFactorStandard.PF_085,
    ),
    IndustryProfile(
        "farming",
        "A01",
        ("农业发展有限公司", "农业科技有限公司"),
        1,
        V10,
        (0.30, 0.50),
        pf_standard=PowerFactorStandard.PF_080,
        max_kva_10kv=5000,
    ),
    IndustryProfile(
        "aquaculture",
        "A04",
        ("水产养殖有限公司", "水产有限公司"),
        0.8,
        V10,
        (0.35, 0.55),
        pf_standard=PowerFactorStandard.PF_080,
        max_kva_10kv=5000,
    ),
)
PROFILE_BY_KEY = {p.key: p for p in PROFILES}
# Kinds a group's subsidiaries are drawn from: groups stay in their line of business.
GROUP_FAMILIES: dict[str, tuple[str, ...]] = {
    "steel": ("steel", "steel", "metalwork", "logistics"),
    "nonferrous": ("nonferrous", "metalwork", "recycling"),
    "petrochem": ("petrochem", "chemical", "chemfibre", "port", "logistics"),
    "chemical": ("chemical", "plastics", "chemfibre"),
    "electronics": ("electronics", "electronics", "electrical", "instruments"),
    "electrical": ("electrical", "electronics", "metalwork"),
    "building": ("building", "mining", "logistics"),
    "textile": ("textile", "garment", "chemfibre"),
    "paper": ("paper", "printing", "wood"),
    "pharma": ("pharma", "chemical", "logistics"),
    "autoparts": ("autoparts", "metalwork", "plastics", "machinery"),
    "food": ("food", "beverage", "feed", "logistics"),
}


def industry_codes() -> set[str]:
    """The GB/T 4754 divisions the generator uses (all in the shipped table)."""
    return {p.division for p in PROFILES}


# --- Electrical facts -------------------------------------------------------------------------

CAPACITY_RANGE_KVA = {
    "10": (315, 20000),
    "20": (630, 30000),
    "35": (5000, 40000),
    "110": (20000, 200000),
    "220": (100000, 600000),
}
CAPACITY_SKEW = 2.2
# Transformer ratings (kVA) a contracted capacity is a sum of.
TRANSFORMER_KVA = (
    315, 400, 500, 630, 800, 1000, 1250, 1600, 2000, 2500, 3150, 4000, 5000, 6300, 8000, 10000, 12500,
    16000, 20000, 25000, 31500, 40000, 50000, 63000, 80000, 100000, 120000, 150000, 180000, 240000,
)  # fmt: skip
# Current transformer primary ratings (A), all with a 5 A secondary.
CT_PRIMARY_A = (
    20, 30, 40, 50, 75, 100, 150, 200, 300, 400, 500, 600, 750, 800, 1000, 1200, 1500, 2000, 2500, 3000, 4000,
)  # fmt: skip
# Voltage transformer ratio per supply voltage: primary volts over a 100 V secondary.
PT_RATIO = {"10": 100, "20": 200, "35": 350, "110": 1100, "220": 2200}
SOURCES = {SupplyMode.SINGLE: 1, SupplyMode.DUAL: 2, SupplyMode.MULTIPLE: 3}


# --- People -----------------------------------------------------------------------------------


@dataclass
class StaffSpec:
    username: str
    display_name: str
    role: str
    org_unit_code: str | None
    team: tuple[str, str] | None = None  # (org unit code, team name)
    phone: str = ""
    is_superuser: bool = False


@dataclass
class TeamSpec:
    org_unit_code: str
    name: str
    lead: str  # username
    managers: list[str]
    engineers: list[str]


# --- Key accounts -----------------------------------------------------------------------------


@dataclass
class PointSpec:
    code: str
    meter_no: str
    ct_ratio: int
    pt_ratio: int
    purpose: str

    @property
    def multiplier(self) -> int:
        return self.ct_ratio * self.pt_ratio


@dataclass
class AccountSpec:
    account_no: str
    name: str
    voltage_kv: str
    capacity_kva: int
    basic_charge_method: str
    contract_demand_kw: int | None
    pf_standard: str
    supply_mode: str
    status: str
    annual_energy_mwh: Decimal
    points: list[PointSpec]


@dataclass
class ContactSpec:
    name: str
    role: str
    phone: str
    email: str
    is_primary: bool = True


@dataclass
class AssignmentSpec:
    role: str
    username: str
    start_date: dt.date
    end_date: dt.date | None = None
    reason: str = ""


@dataclass
class CustomerSpec:
    index: int
    credit_code: str
    name: str
    city: str
    org_unit_code: str
    industry_code: str
    address: str
    credit_rating: str
    importance_class: str
    security_load_kw: Decimal
    emergency_power_kw: Decimal
    accounts: list[AccountSpec]
    contacts: list[ContactSpec]
    assignments: list[AssignmentSpec]
    parent_index: int | None = None
    brand: str = ""  # the trade name (字号) in the name, shared by a group

    @property
    def capacity_kva(self) -> int:
        return sum(a.capacity_kva for a in self.accounts if a.status != AccountStatus.CLOSED)

    @property
    def annual_energy_mwh(self) -> Decimal:
        return sum((a.annual_energy_mwh for a in self.accounts), Decimal("0"))


@dataclass
class PortalUserSpec:
    username: str
    display_name: str
    customer_index: int
    email: str
    phone: str


@dataclass
class DemoData:
    seed: int
    org_units: list[OrgUnitSpec]
    teams: list[TeamSpec]
    staff: list[StaffSpec]
    customers: list[CustomerSpec]
    portal_users: list[PortalUserSpec]


@dataclass
class Taken:
    """Identifiers already in the database, so a second seed adds to the first without clashing."""

    names: set[str] = field(default_factory=set)
    credit_codes: set[str] = field(default_factory=set)
    account_nos: set[str] = field(default_factory=set)
    meter_nos: set[str] = field(default_factory=set)


# Characters Chinese enterprises pick for their trade names (字号): auspicious and common, so that
# two drawn at random read like a real brand.
BRAND_CHARS = (
    "华鑫源泰恒昌德盛达宏丰瑞金隆信兴佳安宝海嘉新永广中美联合天力创科博腾凯旭晟锦富利通正和益汇光明星"
    "东南粤骏祥福荣万润鸿远诚亿立志达顺康健润发伟豪裕银峰辉龙顺捷雅俊晶湾澳粤港"
)
BRAND_CHARS = "".join(dict.fromkeys(BRAND_CHARS))  # each character once, order kept
# Mobile number prefixes of the three carriers.
MOBILE_PREFIXES = (
    *range(130, 140),
    150,
    151,
    152,
    153,
    155,
    156,
    157,
    158,
    159,
    166,
    176,
    177,
    178,
    *range(180, 190),
    191,
    198,
    199,
)
ASSIGNMENT_CHANGE_REASONS = ("客户经理轮岗", "岗位调整", "组织机构调整", "服务片区调整")
SECOND_SITE_NAMES = ("二厂区", "二期", "生活区", "办公楼", "仓储区", "污水站", "东厂区")
CREDIT_RATINGS = (
    (CreditRating.AAA, 20),
    (CreditRating.AA, 35),
    (CreditRating.A, 30),
    (CreditRating.B, 10),
    (CreditRating.C, 3),
    (CreditRating.UNRATED, 2),
)


class _Generator:
    def __init__(self, *, seed: int, taken: Taken) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.taken = taken
        self.seed = seed
        self._profile_weights = [p.weight for p in PROFILES]
        self._city_weights = [c.weight for c in CITIES]
        # Faker makes a few thousand names and streets up front; customers draw from these pools with
        # the generator's own Random, which keeps 20,000 customers fast (a Faker call costs ~70 µs).
        self._people = [self.fake.name() for _ in range(3000)]
        self._streets = [self.fake.street_name() for _ in range(500)]
        self._pinyin: dict[str, str] = {}

    # small helpers ---------------------------------------------------------------------------

    def weighted(self, choices: dict[str, float]) -> str:
        keys = list(choices)
        return self.rng.choices(keys, weights=[choices[k] for k in keys])[0]

    def unique(self, pool: set[str], make: Callable[[], str]) -> str:
        for _ in range(1000):
            value = make()
            if value not in pool:
                pool.add(value)
                return value
        raise RuntimeError("The demo generator ran out of distinct identifiers.")  # pragma: no cover

    def person(self) -> str:
        return self.rng.choice(self._people)

    def mobile(self) -> str:
        return f"{self.rng.choice(MOBILE_PREFIXES)}{self.rng.randrange(10**8):08d}"

    def pinyin(self, text: str) -> str:
        if text not in self._pinyin:
            self._pinyin[text] = "".join(lazy_pinyin(text))
        return self._pinyin[text]

    def landline(self, city: City) -> str:
        first = self.rng.randint(2, 8)
        rest = self.rng.randrange(10 ** (city.landline_digits - 1))
        return f"{city.area_code}-{first}{rest:0{city.landline_digits - 1}d}"

    # identifiers -----------------------------------------------------------------------------

    def credit_code(self, division: str, institution: bool) -> str:
        # 91 = enterprise (company); 12 = public institution. Characters 9-17 are the organisation
        # code of GB 11714: companies registered since 2015 mostly have the "MA" form.
        prefix = "12" if institution else "91"

        def make() -> str:
            if not institution and self.rng.random() < 0.6:
                org = "MA" + "".join(self.rng.choices(CREDIT_CODE_CHARSET[:31], k=6))
            else:
                org = f"{self.rng.randrange(10**8):08d}"
            body = prefix + division + org + _org_code_check(org)
            return body + credit_code_check_char(body)

        return self.unique(self.taken.credit_codes, make)

    def brand(self) -> str:
        return "".join(self.rng.sample(BRAND_CHARS, 2))

    def customer_name(
        self, city: City, profile: IndustryProfile, brand: str | None = None, suffix: str = ""
    ) -> tuple[str, str]:
        """A name not yet taken, and the brand in it. A group member keeps the group's brand and
        varies the suffix; should its kind be exhausted in that city, it trades under a brand of its own."""
        for attempt in range(200):
            word = brand if brand and attempt < 20 else self.brand()
            name = f"{city.prefix}{word}{suffix if suffix and attempt == 0 else self.rng.choice(profile.suffixes)}"
            if name not in self.taken.names:
                self.taken.names.add(name)
                return name, word
        raise RuntimeError("The demo generator ran out of distinct customer names.")  # pragma: no cover

    def account_no(self, city: City) -> str:
        return self.unique(self.taken.account_nos, lambda: f"{city.account_prefix}{self.rng.randrange(10**8):08d}")

    def meter_no(self) -> str:
        # Thirteen digits like the asset numbers printed on the meters' nameplates.
        return self.unique(self.taken.meter_nos, lambda: f"03{self.rng.randrange(10**11):011d}")

    # organisation and staff ------------------------------------------------------------------

    def staff(self) -> tuple[list[TeamSpec], list[StaffSpec]]:
        staff = [
            StaffSpec("admin", "系统管理员", Role.ADMINISTRATOR, PROVINCE[0], is_superuser=True),
            StaffSpec("gd_supervisor", self.person(), Role.SUPERVISOR, PROVINCE[0], phone=self.mobile()),
        ]
        teams: list[TeamSpec] = []
        for city in CITIES:
            u = city.username
            staff.append(StaffSpec(f"{u}_supervisor", self.person(), Role.SUPERVISOR, city.code, phone=self.mobile()))
            staff.append(StaffSpec(f"{u}_clerk", self.person(), Role.BILLING_CLERK, city.code, phone=self.mobile()))
            n_manager = n_engineer = 0
            for team_name in ("大客户经理一班", "大客户经理二班"):
                # Three to five people: two or three managers and one or two field engineers.
                managers, engineers = [], []
                for _ in range(self.rng.randint(2, 3)):
                    n_manager += 1
                    managers.append(f"{u}_manager{n_manager}")
                for _ in range(self.rng.randint(1, 2)):
                    n_engineer += 1
                    engineers.append(f"{u}_engineer{n_engineer}")
                key = (city.centre_code, team_name)
                staff.extend(
                    StaffSpec(name, self.person(), Role.ACCOUNT_MANAGER, city.centre_code, key, self.mobile())
                    for name in managers
                )
                staff.extend(
                    StaffSpec(name, self.person(), Role.FIELD_ENGINEER, city.centre_code, key, self.mobile())
                    for name in engineers
                )
                teams.append(TeamSpec(city.centre_code, team_name, managers[0], managers, engineers))
        return teams, staff

    # accounts --------------------------------------------------------------------------------

    def capacity(self, voltage: str, profile: IndustryProfile) -> int:
        low, high = CAPACITY_RANGE_KVA[voltage]
        if voltage == "10":
            high = min(high, profile.max_kva_10kv)
        for _ in range(20):
            # Skewed towards the small end: most key accounts are a few MVA, few are near the top.
            target = low * (high / low) ** (self.rng.random() ** CAPACITY_SKEW)
            transformers = self.rng.choices((1, 2, 3, 4), weights=(45, 35, 12, 8))[0]
            rating = min(TRANSFORMER_KVA, key=lambda r: abs(r - target / transformers))
            total = rating * transformers
            if low <= total <= high:
                return total
        return low

    def points(self, account_no: str, voltage: str, capacity_kva: int, supply_mode: str) -> list[PointSpec]:
        # Rated current of the connection, with the usual margin, picks the CT; each incoming feeder
        # is metered on its own and sized for the whole load (N-1), so they share the CT.
        amps = capacity_kva / (math.sqrt(3) * float(voltage)) * 1.2
        primary = next((a for a in CT_PRIMARY_A if a >= amps), CT_PRIMARY_A[-1])
        ct, pt = primary // 5, PT_RATIO[voltage]
        billing = SOURCES[supply_mode]
        check = 1 if billing < 3 and self.rng.random() < 0.15 else 0
        purposes = [MeteringPurpose.BILLING] * billing + [MeteringPurpose.CHECK] * check
        return [
            PointSpec(code=f"{account_no}-{i}", meter_no=self.meter_no(), ct_ratio=ct, pt_ratio=pt, purpose=purpose)
            for i, purpose in enumerate(purposes, start=1)
        ]

    def account(
        self,
        *,
        city: City,
        profile: IndustryProfile,
        name: str,
        voltage: str,
        supply_mode: str,
    ) -> AccountSpec:
        account_no = self.account_no(city)
        capacity = self.capacity(voltage, profile)
        method = self.weighted(
            {BasicChargeMethod.CAPACITY: 45, BasicChargeMethod.CONTRACT_DEMAND: 40, BasicChargeMethod.ACTUAL_DEMAND: 15}
        )
        contract_demand = None
        if method == BasicChargeMethod.CONTRACT_DEMAND:
            # Declared demand must be at least 40 % of capacity (发改办价格〔2016〕1583号).
            contract_demand = max(1, round(capacity * self.rng.uniform(0.4, 1.0) / 10) * 10)
            contract_demand = min(contract_demand, capacity)
        status = self.weighted({AccountStatus.ACTIVE: 96, AccountStatus.SUSPENDED: 2, AccountStatus.REDUCED: 2})
        # Energy from capacity: max demand is 35-70 % of the transformers at cos φ 0.9, the average
        # load is the profile's load factor of it, over 8,760 hours; idle accounts use little.
        max_demand_kw = capacity * 0.9 * self.rng.uniform(0.35, 0.7)
        hours = 8760 * self.rng.uniform(*profile.load_factor)
        usage = {AccountStatus.ACTIVE: 1.0, AccountStatus.SUSPENDED: 0.1, AccountStatus.REDUCED: 0.6}[status]
        energy = Decimal(str(round(max_demand_kw * hours * usage / 1000, 2)))
        return AccountSpec(
            account_no=account_no,
            name=name,
            voltage_kv=voltage,
            capacity_kva=capacity,
            basic_charge_method=method,
            contract_demand_kw=contract_demand,
            pf_standard=profile.pf_standard,
            supply_mode=supply_mode,
            status=status,
            annual_energy_mwh=energy,
            points=self.points(account_no, voltage, capacity, supply_mode),
        )

    def main_supply_mode(self, voltage: str, importance: str, gap: str) -> str:
        if gap == "single_supply":
            return SupplyMode.SINGLE
        if importance == ImportanceClass.SPECIAL:
            return SupplyMode.MULTIPLE
        if importance in (ImportanceClass.FIRST, ImportanceClass.SECOND):
            return SupplyMode.MULTIPLE if self.rng.random() < 0.15 else SupplyMode.DUAL
        dual = {"10": 0.1, "20": 0.15, "35": 0.3, "110": 0.6, "220": 0.8}[voltage]
        roll = self.rng.random()
        if voltage in ("110", "220") and roll < 0.1:
            return SupplyMode.MULTIPLE
        return SupplyMode.DUAL if roll < dual else SupplyMode.SINGLE

    # customers -------------------------------------------------------------------------------

    def contacts(self, city: City, brand: str) -> list[ContactSpec]:
        domain = self.pinyin(brand)
        # example.com is reserved (RFC 2606): demo data can never mail a real company.
        host = f"{domain}.example.com"
        roles = [ContactRole.ELECTRICAL_LEAD] + self.rng.sample(
            [
                ContactRole.LEGAL_REPRESENTATIVE,
                ContactRole.FINANCE,
                ContactRole.ENERGY_MANAGER,
                ContactRole.DUTY_ELECTRICIAN,
            ],
            self.rng.randint(1, 3),
        )
        contacts = []
        for role in roles:
            name = self.person()
            login = self.pinyin(name)
            phone = self.landline(city) if role == ContactRole.FINANCE else self.mobile()
            # Duty electricians are reached by phone on shift; the others also by e-mail.
            email = "" if role == ContactRole.DUTY_ELECTRICIAN else f"{login}@{host}"
            contacts.append(ContactSpec(name=name, role=role, phone=phone, email=email))
        return contacts

    def team_for(self, teams: list[TeamSpec], manager: str | None) -> tuple[TeamSpec, str]:
        if manager is None:
            team = self.rng.choice(teams)
            return team, self.rng.choice(team.managers)
        return next(t for t in teams if manager in t.managers), manager

    def assignments(self, teams: list[TeamSpec], manager: str | None) -> list[AssignmentSpec]:
        team, manager = self.team_for(teams, manager)
        start = AS_OF - dt.timedelta(days=self.rng.randint(30, 5 * 365))
        result = [
            AssignmentSpec(AssignmentRole.MANAGER, manager, start),
            AssignmentSpec(AssignmentRole.FIELD_ENGINEER, self.rng.choice(team.engineers), start),
        ]
        others = [m for m in team.managers if m != manager]
        if others and self.rng.random() < 0.3:
            result.append(AssignmentSpec(AssignmentRole.BACKUP_MANAGER, self.rng.choice(others), start))
        if others and self.rng.random() < 0.1:
            # A previous manager: the account team's history on the 360 page.
            before = start - dt.timedelta(days=self.rng.randint(180, 3 * 365))
            reason = self.rng.choice(ASSIGNMENT_CHANGE_REASONS)
            result.append(AssignmentSpec(AssignmentRole.MANAGER, self.rng.choice(others), before, start, reason))
        return result

    def customer(
        self,
        *,
        index: int,
        city: City,
        profile: IndustryProfile,
        teams_by_city: dict[str, list[TeamSpec]],
        brand: str | None = None,
        name_suffix: str = "",
        voltage: str | None = None,
        importance: str | None = None,
        gap: str | None = None,
        manager: str | None = None,
        parent_index: int | None = None,
        n_accounts: int | None = None,
    ) -> CustomerSpec:
        rng = self.rng
        name, brand = self.customer_name(city, profile, brand, name_suffix)
        district = rng.choice(city.districts)
        unit = city.centre_code
        if district.unit_code and rng.random() < 0.6:
            unit = district.unit_code
        voltage = voltage or self.weighted(profile.voltages)
        if importance is None:
            importance = ImportanceClass.NONE
            roll = rng.random()
            for klass, probability in profile.importance.items():
                if roll < probability:
                    importance = klass
                    break
                roll -= probability
        if gap is None:
            gap = ""
            if importance != ImportanceClass.NONE and rng.random() < 0.2:
                gap = rng.choice(("single_supply", "no_emergency_power", "emergency_power_short"))
        n_accounts = n_accounts or rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
        accounts = [
            self.account(
                city=city,
                profile=profile,
                name=name,
                voltage=voltage,
                supply_mode=self.main_supply_mode(voltage, importance, gap),
            )
        ]
        for _ in range(n_accounts - 1):
            site = rng.choice(SECOND_SITE_NAMES)
            extra_voltage = voltage if rng.random() < 0.3 else "10"
            accounts.append(
                self.account(
                    city=city,
                    profile=profile,
                    name=f"{name}（{site}）",
                    voltage=extra_voltage,
                    supply_mode=SupplyMode.SINGLE,
                )
            )
        security = emergency = Decimal("0")
        if importance != ImportanceClass.NONE:
            capacity = sum(a.capacity_kva for a in accounts)
            # Security load (保安负荷) is a small share of the load; emergency power is normally
            # sized at 125-200 % of it, in 50 kW generator steps.
            security_kw = max(50, round(capacity * rng.uniform(0.03, 0.12) / 10) * 10)
            security = Decimal(security_kw)
            if gap == "no_emergency_power":
                emergency = Decimal("0")
            elif gap == "emergency_power_short":
                emergency = Decimal(max(50, math.floor(security_kw * rng.uniform(0.5, 0.95) / 50) * 50))
            else:
                emergency = Decimal(math.ceil(security_kw * rng.uniform(1.25, 2.0) / 50) * 50)
        street = self.rng.choice(self._streets)
        address = f"广东省{city.prefix}市{district.name}{street}{rng.randint(1, 999)}号"
        return CustomerSpec(
            index=index,
            credit_code=self.credit_code(district.division, profile.institution),
            name=name,
            city=city.code,
            org_unit_code=unit,
            industry_code=profile.division,
            address=address,
            credit_rating=rng.choices([r for r, _ in CREDIT_RATINGS], weights=[w for _, w in CREDIT_RATINGS])[0],
            importance_class=importance,
            security_load_kw=security,
            emergency_power_kw=emergency,
            accounts=accounts,
            contacts=self.contacts(city, brand),
            assignments=self.assignments(teams_by_city[city.code], manager),
            parent_index=parent_index,
            brand=brand,
        )

    def group(
        self,
        *,
        first_index: int,
        size: int,
        city: City,
        profile: IndustryProfile,
        teams_by_city: dict[str, list[TeamSpec]],
        **head: object,
    ) -> list[CustomerSpec]:
        """A group head (集团) and ``size - 1`` subsidiaries sharing its brand, some in other cities.

        Subsidiaries in the head's city are served by the head's manager: one manager per group.
        """
        parent = self.customer(
            index=first_index,
            city=city,
            profile=profile,
            teams_by_city=teams_by_city,
            name_suffix=profile.group_suffix,
            **head,
        )
        members = [parent]
        head_manager = next(
            a.username for a in parent.assignments if a.role == AssignmentRole.MANAGER and not a.end_date
        )
        family = GROUP_FAMILIES.get(profile.key, (profile.key,))
        for i in range(1, size):
            sub_city = city if self.rng.random() < 0.7 else self.rng.choices(CITIES, weights=self._city_weights)[0]
            sub_profile = PROFILE_BY_KEY[self.rng.choice(family)]
            members.append(
                self.customer(
                    index=first_index + i,
                    city=sub_city,
                    profile=sub_profile,
                    teams_by_city=teams_by_city,
                    brand=parent.brand,
                    manager=head_manager if sub_city is city else None,
                    parent_index=first_index,
                )
            )
        return members

    def customers(
        self, count: int, teams: list[TeamSpec], progress: Callable[[int], None] | None = None
    ) -> list[CustomerSpec]:
        teams_by_city = {c.code: [t for t in teams if t.org_unit_code == c.centre_code] for c in CITIES}
        hz = CITY_BY_CODE["HZ"]
        first_manager = teams_by_city["HZ"][0].managers[0]
        # A few showcase accounts first, so even a small demo has a group, the top voltage levels,
        # a special-class user and important users with supply gaps to flag.
        showcase: list[Callable[[int, int], list[CustomerSpec]]] = [
            lambda i, room: self.group(
                first_index=i,
                size=min(room, 3),
                city=hz,
                profile=PROFILE_BY_KEY["petrochem"],
                teams_by_city=teams_by_city,
                voltage="220",
                importance=ImportanceClass.SPECIAL,
                gap="",
                manager=first_manager,
                n_accounts=2,
            ),
            lambda i, room: [
                self.customer(
                    index=i,
                    city=CITY_BY_CODE["JM"],
                    profile=PROFILE_BY_KEY["steel"],
                    teams_by_city=teams_by_city,
                    voltage="220",
                    importance=ImportanceClass.FIRST,
                    gap="",
                )
            ],
            lambda i, room: [
                self.customer(
                    index=i,
                    city=CITY_BY_CODE["ST"],
                    profile=PROFILE_BY_KEY["hospital"],
                    teams_by_city=teams_by_city,
                    importance=ImportanceClass.FIRST,
                    gap="single_supply",
                )
            ],
            lambda i, room: [
                self.customer(
                    index=i,
                    city=hz,
                    profile=PROFILE_BY_KEY["datacentre"],
                    teams_by_city=teams_by_city,
                    voltage="110",
                    importance=ImportanceClass.SECOND,
                    gap="no_emergency_power",
                    manager=first_manager,
                )
            ],
        ]
        result: list[CustomerSpec] = []
        for make in showcase:
            if len(result) >= count:
                break
            made = make(len(result), count - len(result))
            result.extend(made)
            if progress:
                progress(len(made))
        while len(result) < count:
            room = count - len(result)
            city = self.rng.choices(CITIES, weights=self._city_weights)[0]
            profile = self.rng.choices(PROFILES, weights=self._profile_weights)[0]
            if profile.group_suffix and room >= 3 and self.rng.random() < 0.06:
                size = min(room, self.rng.randint(3, 5))
                made = self.group(
                    first_index=len(result), size=size, city=city, profile=profile, teams_by_city=teams_by_city
                )
            else:
                made = [self.customer(index=len(result), city=city, profile=profile, teams_by_city=teams_by_city)]
            result.extend(made)
            if progress:
                progress(len(made))
        return result

    def portal_users(self, customers: list[CustomerSpec]) -> list[PortalUserSpec]:
        """A few customers' energy managers with a portal login; the first is the showcase group's."""
        wanted = max(1, min(10, len(customers) // 40))
        heads = [c for c in customers if c.parent_index is None]
        chosen = heads[:1] + self.rng.sample(heads[1:], min(len(heads) - 1, wanted - 1)) if heads else []
        users = []
        for n, customer in enumerate(chosen, start=1):
            contact = next(
                (c for c in customer.contacts if c.role == ContactRole.ENERGY_MANAGER),
                customer.contacts[0],
            )
            users.append(
                PortalUserSpec(
                    username=f"customer{n}",
                    display_name=contact.name,
                    customer_index=customer.index,
                    email=contact.email,
                    phone=contact.phone,
                )
            )
        return users


def _org_code_check(body: str) -> str:
    """Check character of an organisation code (GB 11714): weights 3,7,9,10,5,8,4,2 mod 11."""
    values = [int(ch) if ch.isdigit() else ord(ch) - 55 for ch in body]
    remainder = 11 - sum(v * w for v, w in zip(values, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def generate(
    *, accounts: int, seed: int, taken: Taken | None = None, progress: Callable[[int], None] | None = None
) -> DemoData:
    """``accounts`` key-account customers (group heads and subsidiaries included) for ``seed``.

    ``taken`` holds identifiers already in use (they are added to as the generator goes);
    ``progress`` is called with the number of customers made at each step.
    """
    gen = _Generator(seed=seed, taken=taken or Taken())
    teams, staff = gen.staff()
    customers = gen.customers(accounts, teams, progress)
    return DemoData(
        seed=seed,
        org_units=org_unit_specs(),
        teams=teams,
        staff=staff,
        customers=customers,
        portal_users=gen.portal_users(customers),
    )
