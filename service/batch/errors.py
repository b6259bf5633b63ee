"""What can stop the batch path, told apart by what the user does next."""

from __future__ import annotations


class BatchInputError(Exception):
    """The run cannot start as asked (a judge it cannot send, Ray or a backend out of reach,
    the extra not installed): found before any unit is submitted; the message says what to do."""


class BatchRunError(Exception):
    """Units failed; what arrived is stored, and the same command submits only the rest."""
