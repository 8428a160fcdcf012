"""Power quality in a real browser (issue 8 item 4): the field engineer imports a monitoring export (CSV), sees the
events in the list, opens the chart (the sag scatter with the tolerance curve, events per month), opens a service
request for the deep sag and sees it linked. Pages are in zh-hans: the test holds on to data-testid attributes."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from gridkam.core.testing import personas
from gridkam.customers.models import ElectricityAccount
from gridkam.powerquality.models import PowerQualityEvent

SCREENSHOTS = "/tmp"


def test_import_a_monitoring_export_and_see_the_chart(login, live_server, page: Page, tmp_path):
    p = personas()
    account = ElectricityAccount.objects.filter(customer=p.a1).first()
    meter = account.metering_points.first()
    csv = tmp_path / "pq.csv"
    csv.write_text(
        "监测点,户号,开始时间,持续时间(ms),事件类型,残余电压(%),测量值,限值,相别,描述\n"
        f"{meter.meter_no},,2026-03-02 09:15:21.340,80,电压暂降,72.5,,,A,\n"
        f"{meter.meter_no},,2026-03-18 14:02:07,260,电压暂降,40,,,ABC,变频器跳闸\n"
        f",{account.account_no},2026-04-10 10:00:00,,谐波超标,,5.2,,ABC,\n",
        encoding="gbk",
    )
    url = live_server.url
    login(p.engineer)
    page.goto(url + "/power-quality/import/")
    page.set_input_files("input[name=file]", str(csv))
    page.get_by_test_id("pq-import-submit").click()
    expect(page.get_by_test_id("pq-import-ok")).to_be_visible()
    expect(page.get_by_test_id("pq-import-events").locator("tbody tr")).to_have_count(3)

    page.goto(url + "/power-quality/")
    expect(page.get_by_test_id("pq-table").locator("tbody tr[data-event]")).to_have_count(3)
    page.get_by_test_id("pq-chart-link").click()
    sags = page.get_by_test_id("pq-sag-chart")
    expect(sags).to_have_attribute("data-outside", "1")
    expect(sags.locator("canvas")).to_have_count(1)
    expect(page.get_by_test_id("pq-month-chart").locator("canvas")).to_have_count(1)
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-power-quality-chart.png", full_page=True)

    deep = PowerQualityEvent.objects.get(residual_pct=40)
    page.goto(url + f"/power-quality/{deep.pk}/")
    page.get_by_test_id("pq-open-request").locator("button").click()
    expect(page.get_by_test_id("pq-request-link")).to_be_visible()
    deep.refresh_from_db()
    assert deep.service_request is not None and deep.service_request.request_type == "power_quality"
