"""Each table of the status page is a table wherever its box holds it, and a block of lines a
row only in a narrower box: on a 1024 px tablet held sideways the Processes, retention runs,
alert history and plan tables were blocks of lines too (every table was, up to 1152 px, because
the Now table needs some 1100 px), though each needs at most 753 px and the box is 977 px."""

from datetime import UTC, datetime, timedelta

from retention.models import Alert, RetentionRun
from tests.dashboard.browser import BROWSER_TEST, open_as_reader
from tests.support.chromium import wait_for
from tests.support.status_home import add_loads

pytestmark = BROWSER_TEST

# Each table of class "stack": how it is shown, whether its column headings are on screen, and
# for each cell of its first row the heading shown before it (stacked) and its column's heading.
SHOWN = """
var page = document.documentElement;
return {page: [page.scrollWidth, page.clientWidth],
        boxes: Array.from(document.querySelectorAll('.table-scroll'), function (box) {
          return [box.firstElementChild.id || box.firstElementChild.className, box.scrollWidth, box.clientWidth];
        }),
        tables: Array.from(document.querySelectorAll('table.stack'), function (t) {
          var head = t.tHead.rows[0].cells, column = 0;
          return {name: t.id || t.className, display: getComputedStyle(t).display,
                  heading: t.tHead.getBoundingClientRect().width > 1,
                  labels: Array.from(t.tBodies[0].rows[0].cells, function (c) {
                    var label = getComputedStyle(c, '::before').content;
                    var heading = head[column].textContent;
                    column += c.colSpan;
                    return [c.tagName === 'TH' ? heading : label.replace(/^"|"$/g, ''), heading];
                  })};
        })};
"""


def shown(browser, width: int) -> dict:
    browser.set_window_size(width, 2600)
    browser.refresh()
    wait_for(browser, "html[data-loaded]")
    return browser.execute_script(SHOWN)


def test_narrow_tables_are_tables_on_a_tablet_and_stack_on_a_phone(live_server, collected, browser):
    add_loads(collected)  # two plans, each with its table
    at = datetime.now(UTC) - timedelta(days=1)
    run = RetentionRun.objects.create(
        operation=RetentionRun.Operation.ARCHIVE, status=RetentionRun.Status.FAILED, started=at,
        finished=at + timedelta(minutes=2), duration_seconds=120.0,
        errors="S3 refused the upload: AccessDenied when calling the PutObject operation",
    )  # fmt: skip
    Alert.objects.create(run=run, kind=Alert.Kind.FAILED, message="archive failed: AccessDenied")
    open_as_reader(browser, live_server.url)

    narrow = ["processes-table", "plan-table stack", "plan-table stack", "runs-table",
              "alerts-history"]  # fmt: skip
    tablet = shown(browser, 1024)
    assert tablet["page"][0] <= tablet["page"][1], tablet["page"]
    assert [box for box in tablet["boxes"] if box[1] > box[2]] == [], tablet["boxes"]
    tables = {(t["name"], t["display"], t["heading"]) for t in tablet["tables"]}
    assert sorted(t["name"] for t in tablet["tables"]) == sorted([*narrow, "now-table"])
    # The Now table (some 1075 px as a table) is still a block of lines a row in 977 px.
    assert tables == {*((name, "table", True) for name in narrow), ("now-table", "block", False)}

    phone = shown(browser, 375)
    assert phone["page"][0] <= phone["page"][1], phone["page"]
    assert [box for box in phone["boxes"] if box[1] > box[2]] == [], phone["boxes"]
    assert {(t["display"], t["heading"]) for t in phone["tables"]} == {("block", False)}
    # Stacked, each value follows its column's heading, as a screen reader reads it too.
    for table in phone["tables"]:
        assert all(label == heading for label, heading in table["labels"]), table
