"""Form fields shared by the blueprints' forms."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from wtforms import Field, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, StopValidation, ValidationError
from wtforms.widgets import HiddenInput, TextInput


class ExactDecimalField(Field):
    """A decimal typed by a person: "1,250.50" is fine, NaN, 1e5 and 5 decimals are not."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, places: int = 2, minimum: Decimal | None = None,
                 maximum: Decimal | None = None, exclusive_minimum: bool = False,
                 shown_places: int = 2, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.places, self.minimum, self.maximum = places, minimum, maximum
        self.shown_places = shown_places  # at least this many decimals when displayed
        self.exclusive_minimum = exclusive_minimum

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        text = f"{self.data:f}"
        if "." in text:
            whole, frac = text.split(".")
            frac = frac.rstrip("0").ljust(self.shown_places, "0")
            text = f"{whole}.{frac}" if frac else whole
        return text

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        typed = (valuelist[0] or "").strip()
        text = typed.replace(",", "").replace("$", "")
        if text == "":
            self.data = None
            if typed:  # "$" or "," alone: something was typed, but no number
                raise ValueError("Enter a number.")
            return
        if len(text) > 30 or any(c not in "0123456789.-+" for c in text):
            self.data = None
            raise ValueError("Enter a number.")
        try:
            value = Decimal(text)
        except InvalidOperation:
            self.data = None
            raise ValueError("Enter a number.") from None
        if not value.is_finite():
            self.data = None
            raise ValueError("Enter a number.")
        if -value.as_tuple().exponent > self.places:
            self.data = None
            raise ValueError(f"Use at most {self.places} decimal places.")
        self.data = value

    def pre_validate(self, form):
        if self.data is None:
            required = next((v for v in self.validators if isinstance(v, InputRequired)), None)
            if required is not None and not self.process_errors:
                # InputRequired looks at what was typed: a blank " " passes it but is no number
                raise StopValidation(required.message or "Enter a number.")
            return
        if self.minimum is not None:
            if self.exclusive_minimum and self.data <= self.minimum:
                raise ValidationError(f"Must be more than {self.minimum}.")
            if self.data < self.minimum:
                raise ValidationError(f"Can't be less than {self.minimum}.")
        if self.maximum is not None and self.data > self.maximum:
            raise ValidationError(f"Can't be more than {self.maximum:,}.")


MAX_ID = 2 ** 31 - 1  # the largest id an id column holds: INTEGER on PostgreSQL (SQLite holds more)


def parse_id(value) -> int | None:
    """A row id typed into a URL or a form: a whole number from 1 to MAX_ID, else None
    (so a lookup finds nothing instead of overflowing the database driver)."""
    if isinstance(value, int):
        number = value
    else:
        text = str(value or "").strip()
        if not (text.isascii() and text.isdigit()):
            return None
        number = int(text)
    return number if 0 < number <= MAX_ID else None


class IdField(Field):
    """The id a picker chose (templates/_combobox.html: a hidden input): a row id or
    nothing. Whether it is one of the organisation's rows is the service's to check."""

    widget = HiddenInput()

    def _value(self):
        return "" if self.data is None else str(self.data)

    def process_formdata(self, valuelist):
        if not valuelist:
            return  # not sent: what the object has stands
        text = valuelist[0] or ""
        self.data = parse_id(text) if text.strip() else None
        if text.strip() and self.data is None:
            raise ValueError("Choose from the list.")


class IdSelectField(SelectField):
    """A <select> of row ids; an empty or unknown choice is None (validated by choices)."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, coerce=self._coerce, validate_choice=True, **kwargs)

    @staticmethod
    def _coerce(value):
        if value in (None, "", "None"):
            return None
        number = parse_id(value)
        return -1 if number is None else number  # -1 is never a choice: fails validation, not the request


def strip(value):
    return value.strip() if isinstance(value, str) else value


class TrimmedStringField(StringField):
    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("filters", [strip])
        super().__init__(label, validators, **kwargs)


class RequiredChoice:
    """For IdSelectField: something must be chosen."""

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field):
        if field.data is None:
            raise ValidationError(self.message)


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as SelectField choices; None becomes the empty value."""
    return [SelectChoice("" if value is None else str(value), label) for value, label in pairs]
