"""The API's error: an HTTP status, a message for people and a stable code for programs."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, message: str, error_code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.error_code = status, message, error_code
