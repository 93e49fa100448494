"""Form fields: an embedded document edits as a nested form, an array as one item per line.

- ``EmbeddedModelFormField``: renders a form of the embedded model's fields (a ``ModelForm``
  of it, prefixed with the field's name) inside the outer form; its errors show next to the
  nested inputs, and cleaning it runs the embedded model's own validation.
- ``ArrayFormField``: a textarea, one item per line, each item cleaned by the base field's
  form field (errors name the item).
- ``EmbeddedModelArrayFormField``: a JSON textarea (a list of objects); each object is
  validated as an instance of the embedded model. (Nested formsets for arrays of documents
  are not provided.)
"""

from __future__ import annotations

import json

from django import forms
from django.core import exceptions
from django.core.serializers.json import DjangoJSONEncoder
from django.forms.models import modelform_factory
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _


class EmbeddedFormWidget(forms.Widget):
    """Renders the nested form; reads back a bound nested form."""

    def __init__(self, form_class, attrs=None):
        super().__init__(attrs)
        self.form_class = form_class
        self.use_required_attribute_in_form = True

    def __deepcopy__(self, memo):
        obj = super().__deepcopy__(memo)
        obj.form_class = self.form_class
        return obj

    def nested_form(self, name, value):
        if isinstance(value, forms.BaseForm):
            return value
        initial = value if isinstance(value, dict) else None
        if value is not None and not isinstance(value, dict):
            initial = forms.models.model_to_dict(value)
        form = self.form_class(prefix=name, initial=initial)
        form.use_required_attribute = self.use_required_attribute_in_form
        return form

    def render(self, name, value, attrs=None, renderer=None):
        form = self.nested_form(name, value)
        return format_html(
            '<fieldset class="embedded-document" id="{}">{}</fieldset>',
            (attrs or {}).get("id", f"id_{name}"),
            mark_safe(form.as_div()),
        )

    def value_from_datadict(self, data, files, name):
        form = self.form_class(data, files, prefix=name)
        form.use_required_attribute = self.use_required_attribute_in_form
        return form

    def value_omitted_from_data(self, data, files, name):
        prefix = f"{name}-"
        return not any(key.startswith(prefix) for key in data)

    def id_for_label(self, id_):
        return None


class EmbeddedModelFormField(forms.Field):
    default_error_messages = {"invalid": _("Correct the errors in the nested fields.")}

    def __init__(self, model, fields, **kwargs):
        self.model = model
        self.form_class = modelform_factory(model, fields=fields)
        kwargs.pop("max_length", None)
        kwargs.setdefault("widget", EmbeddedFormWidget(self.form_class))
        super().__init__(**kwargs)
        self.widget.use_required_attribute_in_form = self.required

    def prepare_value(self, value):
        return value

    def clean(self, value):
        form = value if isinstance(value, forms.BaseForm) else None
        if form is None:
            return super().clean(value)
        if not self.required and not form.has_changed():
            return None
        if not form.is_valid():
            raise exceptions.ValidationError(self.error_messages["invalid"], code="invalid")
        return form.instance

    def has_changed(self, initial, data):
        if not isinstance(data, forms.BaseForm):
            return super().has_changed(initial, data)
        if initial is None:
            return data.has_changed()
        if not data.is_valid():
            return True
        before = forms.models.model_to_dict(initial, fields=list(data.fields))
        return any(before.get(name) != data.cleaned_data.get(name) for name in data.fields)


class ArrayFormField(forms.CharField):
    """A list edited as text, one item per line."""

    widget = forms.Textarea
    default_error_messages = {
        "item_invalid": _("Item %(nth)s (%(value)s): %(message)s"),
        "too_long": _("List contains %(length)d items, it should contain no more than %(size)d."),
    }

    def __init__(self, base_field, size=None, **kwargs):
        self.base_field = base_field
        self.size = size
        kwargs.pop("max_length", None)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(
                "" if item is None else str(self.base_field.prepare_value(item)) for item in value
            )
        return value

    def to_python(self, value):
        if isinstance(value, list | tuple):
            return list(value)
        text = super().to_python(value)
        if text in self.empty_values:
            return []
        items, errors = [], []
        for index, line in enumerate(line.strip() for line in text.splitlines()):
            if not line:
                continue
            try:
                items.append(self.base_field.clean(line))
            except exceptions.ValidationError as error:
                for message in error.messages:
                    errors.append(
                        exceptions.ValidationError(
                            self.error_messages["item_invalid"],
                            code="item_invalid",
                            params={"nth": index + 1, "value": line, "message": message},
                        )
                    )
        if errors:
            raise exceptions.ValidationError(errors)
        return items

    def validate(self, value):
        if self.required and not value:
            raise exceptions.ValidationError(self.error_messages["required"], code="required")
        if self.size is not None and len(value) > self.size:
            raise exceptions.ValidationError(
                self.error_messages["too_long"],
                code="too_long",
                params={"length": len(value), "size": self.size},
            )

    def run_validators(self, value):
        pass

    def has_changed(self, initial, data):
        try:
            data = self.to_python(data)
        except exceptions.ValidationError:
            return True
        return list(initial or []) != list(data or [])


class EmbeddedModelArrayFormField(forms.JSONField):
    """A list of embedded documents edited as JSON: ``[{"name": ..., "price": ...}, ...]``."""

    default_error_messages = {
        "not_a_list": _("Enter a JSON list of objects."),
        "item_invalid": _("Item %(nth)s: %(message)s"),
    }

    def __init__(self, model_field, **kwargs):
        self.model_field = model_field
        kwargs.pop("max_length", None)
        kwargs.setdefault("encoder", DjangoJSONEncoder)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list):
            value = self.model_field._plain(value)
        return super().prepare_value(value)

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        if not isinstance(value, list):
            raise exceptions.ValidationError(self.error_messages["not_a_list"], code="invalid")
        embedded = self.model_field.base_field
        items, errors = [], []
        for index, item in enumerate(value):
            try:
                instance = embedded.to_python(item)
                embedded.validate(instance, None)
                items.append(instance)
            except exceptions.ValidationError as error:
                for message in error.messages:
                    errors.append(
                        exceptions.ValidationError(
                            self.error_messages["item_invalid"],
                            code="item_invalid",
                            params={"nth": index + 1, "message": message},
                        )
                    )
        if errors:
            raise exceptions.ValidationError(errors)
        return items

    def has_changed(self, initial, data):
        if isinstance(initial, list):
            initial = self.model_field._plain(initial)
        try:
            data = self.to_python(data)
        except exceptions.ValidationError:
            return True
        if isinstance(data, list):
            data = self.model_field._plain(data)
        return json.dumps(initial, cls=DjangoJSONEncoder, sort_keys=True) != json.dumps(
            data, cls=DjangoJSONEncoder, sort_keys=True
        )
