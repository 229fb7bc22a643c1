from django.urls import path

from huifang.feeds import views

app_name = "feeds"
urlpatterns = [
    path("", views.batch_list, name="batches"),
    path("<int:pk>/", views.batch_detail, name="batch"),
    path("upload/", views.batch_upload, name="upload"),
    path("progress/<str:token>/", views.batch_progress, name="progress"),
]
