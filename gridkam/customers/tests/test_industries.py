"""The GB/T 4754-2017 classification shipped as data and loaded by migration 0004."""

import importlib

import pytest
from django.apps import apps

from gridkam.customers.models import Industry

pytestmark = pytest.mark.django_db


def sections():
    return Industry.objects.filter(parent__isnull=True)


def divisions():
    return Industry.objects.filter(parent__isnull=False, code__regex=r"^[A-T][0-9]{2}$")


def test_all_twenty_sections_are_loaded():
    assert list(sections().values_list("code", flat=True)) == list("ABCDEFGHIJKLMNOPQRST")


def test_all_ninety_seven_divisions_are_loaded_in_sequence():
    codes = list(divisions().order_by("code").values_list("code", flat=True))
    assert len(codes) == 97
    assert sorted(int(code[1:]) for code in codes) == list(range(1, 98))


def test_each_division_hangs_on_its_section():
    for division in divisions().select_related("parent"):
        assert division.parent.parent_id is None
        assert division.parent.code == division.section == division.code[0]


def test_every_row_has_chinese_and_english_names():
    assert not Industry.objects.filter(name="").exists()
    assert not Industry.objects.filter(name_en="").exists()


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("A", "农、林、牧、渔业"),
        ("D", "电力、热力、燃气及水生产和供应业"),
        ("T", "国际组织"),
        ("A01", "农业"),
        ("B11", "开采专业及辅助性活动"),
        ("C25", "石油、煤炭及其他燃料加工业"),
        ("C31", "黑色金属冶炼和压延加工业"),
        ("C39", "计算机、通信和其他电子设备制造业"),
        ("D44", "电力、热力生产和供应业"),
        ("G58", "多式联运和运输代理业"),
        ("I65", "软件和信息技术服务业"),
        ("Q84", "卫生"),
        ("S96", "基层群众自治组织及其他组织"),
        ("T97", "国际组织"),
    ],
)
def test_official_names(code, name):
    assert Industry.objects.get(code=code).name == name


def test_loading_again_changes_nothing():
    migration = importlib.import_module("gridkam.customers.migrations.0004_load_industries")
    before = list(Industry.objects.order_by("code").values_list("code", "name", "name_en", "section", "parent_id"))
    migration.load_industries(apps, None)
    after = list(Industry.objects.order_by("code").values_list("code", "name", "name_en", "section", "parent_id"))
    assert after == before
