from django import forms
from django.utils.translation import gettext_lazy as _


class FeedUploadForm(forms.Form):
    """Upload of one feed directory as a zip (SPEC §1)."""

    business_date = forms.DateField(
        label=_("业务日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    archive = forms.FileField(
        label=_("数据包 (zip)"), help_text=_("包含 clients.csv 等文件的 zip 压缩包")
    )
    encoding = forms.ChoiceField(
        label=_("CSV 编码"), choices=[("", "UTF-8"), ("gb18030", "GB18030 / GBK")], required=False
    )
    replace = forms.BooleanField(label=_("替换该日已导入的数据"), required=False)
