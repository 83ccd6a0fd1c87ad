"""`/login/` for a user already logged in: no login form again, but on to where they were going
(`next`, when it is a page of this host and not the login page itself) or the start page, as
Django's LoginView does with redirect_authenticated_user. The admin's own login and the Google
Calendar pages (staff only, which send to the admin's login) go on as they did."""

import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(client):
    client.force_login(User.objects.create_user("reader", password="read-only-password"))
    return client


def test_a_logged_in_user_is_sent_on_not_shown_the_form(reader, client):
    assert reader.get("/login/")["Location"] == "/"
    assert reader.get("/login/?next=/api/docs/")["Location"] == "/api/docs/"
    assert reader.get("/login/?next=/%3Fsite%3D2")["Location"] == "/?site=2"
    # Elsewhere, or back to the login page (round and round, or Django's 500): the start page.
    for elsewhere in ("https://example.com/", "//example.com/", "/login/", "/login/?next=/"):
        response = reader.get("/login/", {"next": elsewhere})
        assert (response.status_code, response["Location"]) == (302, "/"), elsewhere
    assert reader.head("/login/")["Location"] == "/"
    page = reader.get("/login/?next=/api/docs/", follow=True)
    assert page.status_code == 200 and page.redirect_chain == [("/api/docs/", 302)]

    client.logout()
    form = client.get("/login/?next=/api/docs/")
    assert form.status_code == 200
    assert 'name="next" value="/api/docs/"' in form.content.decode()


def test_logging_in_still_goes_where_it_was_going(client):
    User.objects.create_user("reader", password="read-only-password")
    form = {"username": "reader", "password": "read-only-password", "next": "/api/docs/"}
    assert client.post("/login/", form)["Location"] == "/api/docs/"
    # next of the login page itself: the start page, not the login form again.
    client.logout()
    assert client.post("/login/", {**form, "next": "/login/"})["Location"] == "/"
    # The form posted while logged in (from a tab opened before): a login, as the user given.
    User.objects.create_user("other", password="another-password")
    again = {"username": "other", "password": "another-password", "next": "/api/docs/"}
    assert client.post("/login/", again)["Location"] == "/api/docs/"
    assert client.get("/api/docs/").context["user"].username == "other"


def test_the_admin_and_the_calendar_pages_still_ask_their_own_login(reader, client):
    # A user who is not staff, sent on to the admin: the admin's own login, which says who is
    # logged in and offers another account; no loop back to /login/.
    page = reader.get("/login/?next=/admin/", follow=True)
    assert [url for url, _ in page.redirect_chain] == ["/admin/", "/admin/login/?next=/admin/"]
    assert page.status_code == 200
    assert "You are authenticated as reader" in page.content.decode()
    calendar = reader.get("/login/?next=/oauth/google/", follow=True)
    assert calendar.redirect_chain[-1][0] == "/admin/login/?next=/oauth/google/"

    # Staff: the admin, and the Google Calendar page.
    client.logout()
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "x"))
    assert client.get("/login/?next=/admin/", follow=True).status_code == 200
    assert client.get("/admin/login/?next=/admin/")["Location"] == "/admin/"
    calendar = client.get("/login/?next=/oauth/google/", follow=True)
    assert calendar.redirect_chain == [("/oauth/google/", 302)]
    assert calendar.status_code == 200
