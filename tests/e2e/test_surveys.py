"""Surveys in a real browser (issue 7 item 4): the annual survey is sent; the customer's energy manager opens it in
the portal's survey list, answers it (the NPS scale, the four dimensions, a comment) and sees it answered; the
account manager finds the answer in the results (NPS, the comment, the charts). Pages are in zh-hans: the test holds
on to data-testid attributes, numbers and the database."""

from __future__ import annotations

from django.utils import timezone
from playwright.sync_api import Page, expect

from gridkam.core.testing import personas
from gridkam.customers.models import Customer
from gridkam.surveys.models import Survey
from gridkam.surveys.services import survey_send_annual

SCREENSHOTS = "/tmp"


def test_a_customer_answers_the_annual_survey_and_the_manager_sees_it(login, live_server, page: Page):
    p = personas()
    year = timezone.localdate().year
    assert survey_send_annual(customers=Customer.objects.all(), year=year, user=p.manager)["surveys"] == 1
    survey = Survey.objects.get(recipient=p.customer_user)
    url = live_server.url

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the portal is used on the move
    login(p.customer_user)
    page.goto(url + "/surveys/portal/")
    open_surveys = page.get_by_test_id("portal-survey-open")
    expect(open_surveys).to_have_count(1)
    open_surveys.first.click()
    expect(page.get_by_test_id("survey-form")).to_be_visible()
    # Sending without scores: field errors, nothing stored.
    page.get_by_test_id("survey-submit").click()
    expect(page.get_by_test_id("error-nps")).to_be_visible()
    assert Survey.objects.get(pk=survey.pk).answered_at is None
    page.get_by_test_id("score-nps-9").click()
    page.get_by_test_id("score-reliability_score-5").click()
    page.get_by_test_id("score-responsiveness_score-4").click()
    page.get_by_test_id("score-billing_clarity_score-3").click()
    page.get_by_test_id("score-account_manager_score-5").click()
    page.fill("textarea[name=comment]", "抢修及时，电费单可以更清楚")
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-survey-answer.png", full_page=True)
    page.get_by_test_id("survey-submit").click()
    page.wait_for_url(url + "/surveys/portal/")
    expect(page.get_by_test_id("portal-surveys-none")).to_be_visible()
    expect(page.get_by_test_id("portal-surveys-closed").locator(f"[data-survey='{survey.pk}']")).to_have_attribute(
        "data-state", "answered"
    )
    survey.refresh_from_db()
    assert (survey.nps, survey.billing_clarity_score, survey.answered_by) == (9, 3, p.customer_user)

    page.context.clear_cookies()
    page.set_viewport_size({"width": 1366, "height": 900})
    login(p.manager)
    page.goto(url + "/surveys/results/?by=manager&period=quarter")
    expect(page.get_by_test_id("results-kpis").locator("[data-kpi=nps]")).to_have_text("100.0")
    expect(page.get_by_test_id("results-kpis").locator("[data-kpi=response_rate]")).to_have_text("100.0 %")
    answers = page.get_by_test_id("results-answers").locator(f"tr[data-survey='{survey.pk}']")
    expect(answers).to_contain_text("抢修及时，电费单可以更清楚")
    expect(page.get_by_test_id("results-groups").locator(f"tr[data-group='{p.manager.pk}']")).to_have_attribute(
        "data-nps", "100.0"
    )
    for chart in ("results-trend", "results-dimensions", "results-distribution"):
        expect(page.get_by_test_id(chart).locator("canvas, svg").first).to_be_visible()
    page.screenshot(path=f"{SCREENSHOTS}/gridkam-survey-results.png", full_page=True)
    # The sent surveys list shows it answered.
    page.goto(url + "/surveys/")
    expect(page.get_by_test_id("survey-table").locator(f"tr[data-survey='{survey.pk}']")).to_have_attribute(
        "data-state", "answered"
    )
