"""Forms of the client pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from huifang.clients.services import REASON_MIN_LENGTH


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


# Why a user reveals a client's personal data (CLI-4). The values are the audited text,
# kept in Chinese whatever the interface language; the labels are translated.
REVEAL_OTHER = "其他"
REVEAL_PURPOSES = (
    ("回访核实客户身份", _("回访核实客户身份")),
    ("客户要求核对资料", _("客户要求核对资料")),
    ("投诉或纠纷处理", _("投诉或纠纷处理")),
    ("监管或审计检查", _("监管或审计检查")),
    (REVEAL_OTHER, _("其他（请说明）")),
)


class ClientPiiRevealForm(forms.Form):
    """The reason asked before a client's full ID number, mobile and address are shown."""

    purpose = forms.ChoiceField(label=_("查看原因"), choices=(("", "—"), *REVEAL_PURPOSES))
    detail = forms.CharField(
        label=_("说明"),
        required=False,
        max_length=150,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        purpose, detail = data.get("purpose"), data.get("detail", "")
        if purpose == REVEAL_OTHER and len(detail) < REASON_MIN_LENGTH:
            message = _("选择“其他”时请说明原因（至少 %(n)d 个字）")
            self.add_error("detail", message % {"n": REASON_MIN_LENGTH})
        elif purpose:
            data["reason"] = f"{purpose}：{detail}" if detail else str(purpose)
        return data
