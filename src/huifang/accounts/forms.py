"""The token form of the second sign-in step."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

TOKEN = re.compile(r"\d{6,8}")


class TokenForm(forms.Form):
    """A TOTP token as an authenticator app shows it (spaces allowed: "123 456")."""

    otp_token = forms.CharField(
        label=_("动态口令"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_otp_token(self) -> str:
        token = "".join(self.cleaned_data["otp_token"].split())
        if not TOKEN.fullmatch(token):
            raise ValidationError(_("请输入验证器显示的 6 位数字。"))
        return token
