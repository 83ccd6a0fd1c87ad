"""Two sites on the status page, in a real browser (docs/status_page.md): `?site=<id>` picks
one, every site is linked at the top and the one shown is in bold, and each panel shows the
chosen site's data (its clock, its providers), not the first site's."""

from enrich.models import Site
from tests.dashboard.browser import BROWSER_TEST, open_as_reader
from tests.support.chromium import wait_for

pytestmark = BROWSER_TEST


def shown(browser) -> dict:
    nav = browser.find_element("css selector", "nav[aria-label=Sites]")
    current = nav.find_element("css selector", "a[aria-current=page]")
    return {
        "heading": browser.find_element("tag name", "h1").text,
        "links": [a.text for a in nav.find_elements("tag name", "a")],
        "current": current.text,
        "bold": int(current.value_of_css_property("font-weight")) >= 700,
        "zone": browser.find_element("id", "zone").text,
        "pricing": [
            [cell.text for cell in row.find_elements("tag name", "td")][:3]
            for row in browser.find_elements("css selector", "#now-table tbody tr")
            if row.find_element("tag name", "td").text == "electricity pricing"
        ],
    }


def test_the_page_shows_the_site_picked_at_the_top(live_server, collected, browser):
    other = Site.objects.create(
        name="Allotment shed", latitude=51.5, longitude=-0.1, timezone="Europe/London"
    )
    open_as_reader(browser, live_server.url)
    first = shown(browser)  # without ?site: the first by name, "Allotment shed"
    assert first["heading"] == "Status of Allotment shed"
    assert first["links"] == ["Allotment shed", "Demo home"]
    assert (first["current"], first["bold"]) == ("Allotment shed", True)
    assert "(Europe/London)" in first["zone"]
    assert first["pricing"] == [
        [
            "electricity pricing",
            "none",
            "No electricity pricing provider is enabled for this site; add one in the admin "
            "(Provider configs).",
        ]
    ]

    browser.find_element("link text", "Demo home").click()
    wait_for(browser, "html[data-loaded]")
    assert browser.current_url.endswith(f"/?site={collected.pk}")
    demo = shown(browser)
    assert demo["heading"] == "Status of Demo home"
    assert (demo["current"], demo["bold"]) == ("Demo home", True)
    assert "(Europe/Berlin)" in demo["zone"]
    assert demo["pricing"] == [["electricity pricing", "awattar", "0.075 EUR/kWh"]]
    other_link = browser.find_element("link text", "Allotment shed")
    assert other_link.get_attribute("href").endswith(f"/?site={other.pk}")
    assert int(other_link.value_of_css_property("font-weight")) < 700
