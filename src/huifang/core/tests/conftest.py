"""The clients' small brokerage (branches A01, A02 in R1 and B01 in R2) for the project-wide tests."""

from huifang.clients.tests.conftest import ID_NUMBER_A, MOBILE_A, world

__all__ = ["ID_NUMBER_A", "MOBILE_A", "world"]
