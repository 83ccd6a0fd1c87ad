from django.contrib.auth import views as auth_views
from django.urls import path

from dashboard import views

urlpatterns = [
    path("", views.home, name="home"),
    path("setup/", views.setup, name="setup"),
    # Not PUT, which Django's LoginView takes as a POST: it showed the form again, "required".
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="dashboard/login.html",
            http_method_names=["get", "post", "head", "options"],
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="/"), name="logout"),
]
