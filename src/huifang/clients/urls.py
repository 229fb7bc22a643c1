from django.urls import path

from huifang.clients.views import ClientDetailView, ClientPiiRevealView, ClientSearchView

app_name = "clients"
urlpatterns = [
    path("clients/", ClientSearchView.as_view(), name="search"),
    path("clients/<str:client_id>/", ClientDetailView.as_view(), name="detail"),
    path("clients/<str:client_id>/reveal/", ClientPiiRevealView.as_view(), name="reveal"),
]
