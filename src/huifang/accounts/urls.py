"""Site-level URL names without a namespace: ``home``, ``login`` and ``logout``.

Included at the root (``path("", include("huifang.accounts.urls"))``) because the
settings refer to these names unqualified (``LOGIN_URL``, ``LOGIN_REDIRECT_URL``,
``LOGOUT_REDIRECT_URL``), which a namespaced URLconf such as ``clients:`` cannot give.
"""

from django.contrib.auth import views as auth_views
from django.urls import path

from huifang.clients.views import HomeView

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
