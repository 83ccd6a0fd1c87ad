"""Who may see and use the start page, and what a bad setup answers."""

import html
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from dashboard.choices import preselected
from enrich.models import ProviderConfig, Site
from tests.support.isolation import fresh_database
from tests.support.setup_form import FORM, no_site_page

pytestmark = pytest.mark.django_db

OCTOPUS_LETTER = "Octopus needs your region letter, A to P (no I or O)."


def test_anonymous_users_are_sent_to_the_login(client):
    for path in ("/", "/setup/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == f"/login/?next={path}"
    assert client.post("/setup/", FORM).status_code == 302
    assert Site.objects.count() == 0


def test_read_only_users_see_the_setup_but_cannot_post_it(client):
    client.force_login(User.objects.create_user("reader", password="x"))
    page = client.get("/")
    assert page.status_code == 200
    assert "can read but not change settings" in page.content.decode()
    assert client.post("/setup/", FORM).status_code == 403
    assert client.post("/setup/", {**FORM, "action": "test"}).status_code == 403
    assert client.post("/", FORM).status_code == 403
    assert Site.objects.count() == 0


def test_a_read_only_user_is_told_why_the_setup_was_refused(client):
    # The 403 was Django's bare "403 Forbidden" page: the reason was not shown.
    client.force_login(User.objects.create_user("reader", password="x"))
    refused = client.post("/setup/", FORM)
    assert refused.status_code == 403
    page = refused.content.decode()
    assert "Setting up a site needs a staff account." in page
    assert 'href="/"' in page  # the way back


@pytest.mark.parametrize("action", ["tset", "", "Create", None])
def test_a_setup_post_without_a_known_action_is_refused_and_creates_nothing(client, action):
    # Any action but "test" created the site: a script's typo (action=tset) or a post without
    # one did. Only the buttons' values act.
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "x"))
    form = {**FORM, "providers": []}  # valid as it is: only the action is wrong
    form.pop("action")
    if action is not None:
        form["action"] = action
    response = client.post("/setup/", form)
    assert response.status_code == 400
    what = "missing" if action is None else f"{action!r} is unknown"
    said = f"action: {what}; send action=create (create the site) or action=test (test the connection)."
    assert response.context["form"].non_field_errors() == [said]
    assert "send action=create (create the site)" in response.content.decode()
    assert not Site.objects.exists() and not ProviderConfig.objects.exists()


def test_the_create_button_creates_the_site(client):
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "x"))
    response = client.post("/setup/", {**FORM, "providers": [], "action": "create"})
    assert response.status_code == 302
    assert list(Site.objects.values_list("name", flat=True)) == ["Flat"]


def test_providers_that_do_not_serve_the_country_are_refused(client):
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "x"))
    response = client.post("/setup/", FORM)
    assert response.status_code == 400
    text = response.content.decode()
    assert "aWATTar spot prices (no key) serves DE, AT only; the country is GB." in text
    assert OCTOPUS_LETTER in text
    assert not Site.objects.exists() and not ProviderConfig.objects.exists()


@pytest.mark.parametrize(
    ("change", "said"),
    [
        # "ı" (dotless i) was saved as region I (its upper case), and I and O, which are no
        # region, were saved: the first collection failed on them.
        *(({"providers": ["octopus"], "octopus_region": c}, OCTOPUS_LETTER) for c in "ıiOｃQ1"),
        # The smart meters write the name as a tag: "Home\\" failed every write of theirs.
        ({"name": "Home\\", "providers": []}, "InfluxDB tags cannot hold a backslash at its end"),
    ],
)
def test_a_value_the_site_cannot_use_is_refused_saying_why(client, change, said):
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "x"))
    response = client.post("/setup/", {**FORM, **change})
    assert response.status_code == 400
    assert said in response.content.decode()
    assert not Site.objects.exists()


def test_a_wrong_database_name_is_named_with_the_ones_that_exist(client):
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "x"))
    response = client.post(
        "/setup/", {**FORM, "action": "test", "ha_database": "no_such_database_here"}
    )
    text = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "has no database 'no_such_database_here' (it has: " in text
    # The advice is where the right name is; the page said to set
    # HA_INFLUXDB_DATABASE=no_such_database_here in .env and restart, a database that is not there.
    assert "InfluxDB integration names it in its configuration (`database:`" in text
    assert "HA_INFLUXDB_DATABASE=no_such_database_here" not in text
    assert "in .env and restart" not in text


def test_an_influxdb_url_where_none_answers_is_not_advised_for_env(client):
    # The page said "set INFLUXDB_URL=http://127.0.0.1:9 ... in .env and restart", a URL where
    # no InfluxDB answers.
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "x"))
    form = {**FORM, "action": "test", "influxdb_url": "http://127.0.0.1:9"}
    text = html.unescape(client.post("/setup/", form).content.decode())
    assert "No InfluxDB answers at http://127.0.0.1:9: " in text
    assert "INFLUXDB_URL=http://127.0.0.1:9" not in text and "in .env" not in text


def test_a_test_that_passes_on_another_database_says_what_to_put_in_env(client):
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "x"))
    with fresh_database("setup") as database:
        form = {**FORM, "action": "test", "ha_database": database}
        text = html.unescape(client.post("/setup/", form).content.decode())
    assert f"answers at {FORM['influxdb_url']} and holds '{database}'." in text
    assert (
        f"set INFLUXDB_URL={FORM['influxdb_url']} and HA_INFLUXDB_DATABASE={database} in .env "
        "and restart (make run)"
    ) in text


@pytest.mark.parametrize(
    "country, key, ticked",
    [
        ("GB", "", ["uk_carbon_intensity", "octopus"]),
        ("DE", "", ["awattar"]),
        ("AT", "em-key", ["awattar", "electricitymaps"]),
        ("", "", []),
    ],
)
def test_keyless_providers_that_serve_the_country_are_ticked(country, key, ticked):
    assert preselected(country, key) == ticked


@pytest.mark.parametrize(
    ("asked", "status", "said"),
    [
        # Not found, as the API answers an unknown site.
        ("999999", 404, "site: there is no site with id 999999."),
        ("abc", 400, "site: there is no site 'abc': a site's id is a whole number from 1."),
        # Was the first site's page, as if left out; the API's words, as it refuses it.
        ("", 400, "site: given empty: give a value or leave ?site= out."),
        ("1\x00" + "9" * 100, 400, "site: there is no site '1\\x00" + "9" * 34 + "…': a site's "
         "id is a whole number from 1."),
    ],
)  # fmt: skip
def test_the_status_page_of_a_site_that_does_not_exist_says_so_and_links_the_sites(
    client, asked, status, said
):
    # The answer was a bare line of text, "site: there is no site with id 'abc'; the status
    # page links every site", with no page and no link to one.
    flat = Site.objects.create(name="Flat", latitude=52.5, longitude=13.4)
    cottage = Site.objects.create(name="Cottage", latitude=51.5, longitude=-0.1)
    client.force_login(User.objects.create_user("reader", password="x"))
    assert client.get("/", {"site": flat.pk}).status_code == 200
    response = client.get("/", {"site": asked})
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert no_site_page(response) == (
        said, [(f"/?site={cottage.pk}", "Cottage"), (f"/?site={flat.pk}", "Flat")]
    )  # fmt: skip
    for address, _name in no_site_page(response)[1]:
        assert client.get(address).status_code == 200


def test_the_status_page_reads_a_site_id_as_the_api_does(client):
    # ?site=01 was "site: there is no site with id 01." though site 1 exists, and the API's
    # ?site=01 answers for it.
    Site.objects.create(name="Cottage", latitude=51.5, longitude=-0.1)
    flat = Site.objects.create(name="Flat", latitude=52.5, longitude=13.4)
    client.force_login(User.objects.create_user("reader", password="x"))
    for asked in (f"0{flat.pk}", f"00{flat.pk}"):
        response = client.get("/", {"site": asked})
        assert response.status_code == 200, asked
        assert response.context["site"] == flat


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("", "InfluxDB URL: This field is required."),
        ("ftp://127.0.0.1:8186", "ftp://127.0.0.1:8186 cannot be an InfluxDB URL: "
         "INFLUXDB_URL='ftp://127.0.0.1:8186' must start with http:// or https://"),
        ("http://[::1", "InfluxDB URL: Enter a valid URL."),
        ("http://a..b/", "InfluxDB URL: Enter a valid URL."),
        (f"http://{'a' * 64}.com", "InfluxDB URL: Enter a valid URL."),
        ("http://127.0.0.1:99999", "No InfluxDB answers at http://127.0.0.1:99999: "),
    ],
)  # fmt: skip
def test_testing_an_influxdb_url_that_is_none_says_so(client, url, said):
    # Each but the last was a 500: the test skipped the form's check of the URL, and the
    # InfluxDB door refused it (ValueError) or urllib3 could not parse its host.
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "x"))
    response = client.post("/setup/", {**FORM, "action": "test", "influxdb_url": url})
    assert response.status_code in (200, 400)
    check = response.context["influx_check"]
    assert not check.ok and check.message.startswith(said), check.message
    assert not Site.objects.exists()


@pytest.mark.parametrize(
    ("database", "said"),
    [
        ("", "This field is required."),
        ("home\x00assistant", "Null characters are not allowed."),
        ("h" * 201, "Ensure this value has at most 200 characters (it has 201)."),
    ],
)
def test_testing_a_database_the_form_refuses_says_so(client, database, said):
    # Was tested as given: "... has no database ''" (200), beside the form's own error.
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "x"))
    response = client.post("/setup/", {**FORM, "action": "test", "ha_database": database})
    assert response.status_code == 400
    check = response.context["influx_check"]
    assert (check.ok, check.message) == (False, f"Home Assistant's database: {said}")
    assert not Site.objects.exists()


def test_an_influxdb_url_without_its_scheme_is_read_as_http(client, settings):
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "x"))
    bare = settings.INFLUXDB_URL.removeprefix("http://")
    response = client.post("/setup/", {**FORM, "action": "test", "influxdb_url": bare})
    check = response.context["influx_check"]
    assert check.message.startswith("InfluxDB 1.")
    assert f"answers at {settings.INFLUXDB_URL}" in check.message


def test_the_login_page_says_where_the_first_admins_password_is(client, settings):
    # Was only a user name and password form: a first-time user learned from no page which
    # account to use or where its password was written.
    hint = (
        "No account yet? The first start created the <code>{}</code> account; its password is "
        "in <code>{}</code> on the server."
    )
    assert "No account yet?" not in client.get("/login/").content.decode()  # no admin yet
    first = User.objects.create_superuser("house-admin", password="first-start-secret")
    page = client.get("/login/")
    assert page.status_code == 200
    assert hint.format("house-admin", "var/first-start-credentials.txt") in page.content.decode()
    settings.FIRST_START_CREDENTIALS_FILE = Path("/srv/enrich/secrets/first-start.txt")
    assert "/srv/enrich/secrets/first-start.txt" in client.get("/login/").content.decode()
    # Once the first admin has logged in, the public page names no account and no path.
    logged_in = client.post(
        "/login/", {"username": "house-admin", "password": "first-start-secret"}
    )
    assert logged_in.status_code == 302
    client.logout()
    first.refresh_from_db()
    assert first.last_login is not None
    page = client.get("/login/").content.decode()
    assert "No account yet?" not in page and "house-admin" not in page
