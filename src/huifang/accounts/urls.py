"""Site-level URL names without a namespace: ``home``, ``login``, ``logout`` and the 2FA steps.

Included at the root (``path("", include("huifang.accounts.urls"))``) because the
settings refer to these names unqualified (``LOGIN_URL``, ``LOGIN_REDIRECT_URL``,
``LOGOUT_REDIRECT_URL``), which a namespaced URLconf such as ``clients:`` cannot give.
"""

from django.contrib.auth import views as auth_views
from django.urls import path

from huifang.accounts.views import OtpEnrolView, OtpVerifyView, SignInView
from huifang.clients.views import HomeView

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/login/token/", OtpVerifyView.as_view(), name="otp_verify"),
    path("accounts/login/enrol/", OtpEnrolView.as_view(), name="otp_enrol"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
