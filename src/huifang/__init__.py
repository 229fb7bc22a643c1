"""huifang (回访): client-service and callback compliance for securities brokerages."""

from huifang.celery import app as celery_app

__all__ = ["celery_app"]
