from django.urls import path

from huifang.api.api import api
from huifang.api.views import ApiDocsView

urlpatterns = [
    path("docs", ApiDocsView.as_view(), name="api_docs"),
    path("", api.urls),
]
