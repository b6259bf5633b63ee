"""The one pattern a language code must match everywhere: an ISO 639 code, an optional subtag."""

LANGUAGE_CODE = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"
