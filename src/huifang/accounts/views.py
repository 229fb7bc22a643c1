"""Sign-in: the password step (axes watches it), then the second factor when required.

password (``SignInView``) → token (``OtpVerifyView``), or enrolment (``OtpEnrolView``)
for a user without an authenticator → the page asked for. Views stay thin: the
services verify tokens, confirm devices and write the audit rows.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import LoginView, RedirectURLMixin, redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView

from huifang.accounts import services, totp
from huifang.accounts.forms import TokenForm
from huifang.accounts.middleware import second_factor_step
from huifang.accounts.selectors import is_verified, totp_device_confirmed


def with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


class SignInView(LoginView):
    """登录: Django's login (axes counts failures); on to the second factor when required."""

    redirect_authenticated_user = True

    def get_success_url(self) -> str:
        url = super().get_success_url()
        user = self.request.user
        if settings.HUIFANG_REQUIRE_2FA and user.is_authenticated and not is_verified(user):
            return with_next(second_factor_step(user), url)
        return url

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(
            two_factor_off=not settings.HUIFANG_REQUIRE_2FA,
            demo=getattr(settings, "HUIFANG_DEMO", False),
            **kwargs,
        )


@method_decorator([never_cache, sensitive_post_parameters("otp_token")], name="dispatch")
class SecondFactorStepView(RedirectURLMixin, FormView):
    """A step for a user who gave his password but no token yet."""

    form_class = TokenForm
    next_page = settings.LOGIN_REDIRECT_URL

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if is_verified(request.user):
            return HttpResponseRedirect(self.get_success_url())
        return self.elsewhere() or super().dispatch(request, *args, **kwargs)

    def elsewhere(self) -> HttpResponse | None:
        """A redirect when this is the wrong step for the user."""
        return None

    def signed_in(self, device: Any) -> HttpResponse:
        django_otp.login(self.request, device)
        return HttpResponseRedirect(self.get_success_url())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(next=self.get_redirect_url(), **kwargs)


class OtpVerifyView(SecondFactorStepView):
    """输入动态口令: the token of the user's authenticator app."""

    template_name = "registration/otp_verify.html"

    def elsewhere(self) -> HttpResponse | None:
        if totp_device_confirmed(user=self.request.user) is None:
            return HttpResponseRedirect(with_next(reverse("otp_enrol"), self.get_redirect_url()))
        return None

    def form_valid(self, form: TokenForm) -> HttpResponse:
        user = self.request.user
        device = services.totp_verify(user=user, token=form.cleaned_data["otp_token"])  # type: ignore[arg-type]
        if device is None:
            form.add_error("otp_token", _("动态口令不正确或已过期，请重新输入。"))
            return self.form_invalid(form)
        return self.signed_in(device)


class OtpEnrolView(SecondFactorStepView):
    """绑定验证器: QR code and secret of a new authenticator, confirmed by one token."""

    template_name = "registration/otp_enrol.html"

    def elsewhere(self) -> HttpResponse | None:
        if totp_device_confirmed(user=self.request.user) is not None:
            return HttpResponseRedirect(with_next(reverse("otp_verify"), self.get_redirect_url()))
        return None

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        device = services.totp_device_pending(user=self.request.user)  # type: ignore[arg-type]
        return super().get_context_data(
            qr=totp.qr_data_uri(device.config_url),
            secret=totp.secret_text(device.bin_key),
            **kwargs,
        )

    def form_valid(self, form: TokenForm) -> HttpResponse:
        user = self.request.user
        device = services.totp_device_confirm(user=user, token=form.cleaned_data["otp_token"])  # type: ignore[arg-type]
        if device is None:
            form.add_error("otp_token", _("动态口令不正确，请核对验证器中的数字后重新输入。"))
            return self.form_invalid(form)
        messages.success(self.request, _("验证器已绑定，今后每次登录都需输入动态口令。"))
        return self.signed_in(device)
