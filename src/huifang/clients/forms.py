"""Forms of the client pages."""

from django import forms
from django.utils.translation import gettext_lazy as _


class ClientSearchForm(forms.Form):
    """One text box: client_id, fund account, full ID number, full mobile or name prefix.

    Sent by POST, so an ID number or mobile never reaches a URL, a proxy log or the
    browser history (CLI-4).
    """

    q = forms.CharField(
        label=_("查询"),
        max_length=64,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "placeholder": _("客户号、资金账号、完整证件号码、完整手机号或姓名开头"),
                "autocomplete": "off",
                "autofocus": True,
            }
        ),
    )
