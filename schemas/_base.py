"""Schemas that refuse bad params in Zabbix's words.

Zabbix's validator stops at the first problem: any unknown key first (in the order sent), then
the fields in their declared order. `ZabbixSchema.load_params` reproduces that from
marshmallow's collected errors, with paths like `/eventids/2` (1-based, as Zabbix counts).
Field error messages are written as Zabbix's reasons ("a character string is expected"); a
required field's message is the `MISSING` marker, which becomes
`Invalid parameter "/": the parameter "x" is missing.`, and an unknown key's is `UNEXPECTED`.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, cast

from marshmallow import RAISE, Schema, ValidationError, missing
from marshmallow.fields import Field
from marshmallow.types import ErrorMessages

from rpcserver.errors import InvalidParams

MISSING = "\x00missing"
UNEXPECTED = "\x00unexpected"


def invalid(path: str, reason: str) -> InvalidParams:
    return InvalidParams(f'Invalid parameter "{path}": {reason}.')


def require_empty(params: Any) -> None:
    """For methods without parameters (apiinfo.version, user.logout): `{}` or `[]` only."""
    if params:
        raise invalid("/", "should be empty")


def _child(path: str, key: Any) -> str:
    part = str(key + 1) if isinstance(key, int) else str(key)
    return f"/{part}" if path == "/" else f"{path}/{part}"


def first_error(messages: Any, path: str = "/") -> InvalidParams:
    """The first error of marshmallow's `messages`, as Zabbix words it."""
    if isinstance(messages, str):
        return invalid(path, messages)
    if isinstance(messages, list):
        return first_error(messages[0], path)
    for key, value in messages.items():  # as Zabbix does, unknown keys before anything else
        if value == [UNEXPECTED]:
            return invalid(path, f'unexpected parameter "{key}"')
    key, value = next(iter(messages.items()))
    if key == "_schema":
        return first_error(value, path)
    if isinstance(value, list) and value and value[0] == MISSING:
        return invalid(path, f'the parameter "{key}" is missing')
    return first_error(value, _child(path, key))


def _plain(field: Field[Any]) -> bool:
    """Whether `field` deserializes exactly as marshmallow's `Field.deserialize` does (its class changes
    none of its steps, and it has no pre- or post-load functions)."""
    cls = type(field)
    return (cls.deserialize is Field.deserialize and cls._validate_missing is Field._validate_missing
            and cls._validate is Field._validate and cls._validate_all is Field._validate_all
            and not field.pre_load and not field.post_load)


def _deserialize_plainly(field: Field[Any], value: Any, key: str, params: dict[str, Any]) -> Any:
    """`field.deserialize(value, key, params)` of a `_plain` field sent in the params, without the `And`
    of its validators that marshmallow makes at every call: that was most of an acknowledge's params
    load (bench/README.md). Raises ValidationError where it would (the collecting load then words the refusal)."""
    if value is None:
        if field.allow_none:
            return None
        raise field.make_error("null")
    output = field._deserialize(value, key, params)
    for validator in field.validators:  # as `And` runs them; each raises ValidationError to refuse
        validator(output)
    return output


class ZabbixSchema(Schema):
    class Meta:
        unknown = RAISE

    # A JSON object is what PHP calls an array: Zabbix says "an array is expected" for both.
    error_messages = {"unknown": UNEXPECTED, "type": "an array is expected"}

    @classmethod
    def from_dict(cls, fields: dict[str, Field[Any]], *, name: str = "GeneratedSchema") -> type[ZabbixSchema]:
        """marshmallow's, typed as what it makes: a subclass of this class."""
        return cast("type[ZabbixSchema]", super().from_dict(fields, name=name))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._known = frozenset(field.data_key or name for name, field in self.load_fields.items())
        # marshmallow visits every declared field on each load, collecting errors as it goes: most of the
        # cost of a get's params (dozens of fields, a few sent), half of an acknowledge's. So the lean path
        # deserializes the fields sent, one by one, fills the defaults of the others, and asks marshmallow
        # only to word a refusal. Not with options (only, partial, ...), nor with marshmallow's hooks, which
        # would see the params before their defaults (`after_load` sees them after).
        self._lean = not args and not kwargs and not any(self._hooks.values())
        self._slots = [(field.data_key or name, field.attribute or name, field,
                        field.load_default if self._lean and not field.required else missing, _plain(field))
                       for name, field in self.load_fields.items()]
        """(key in the params, key in the loaded params, field, default or `missing`, whether `_plain`) of
        every field, in declared order."""
        self._needed_by = functools.lru_cache(maxsize=64)(self._schema_of_needed)

    def _schema_of_needed(self, sent: frozenset[str]) -> Schema:
        """This schema cut to the fields required or sent, in declared order (a field neither required
        nor sent loads to its default, or to nothing)."""
        return type(self)(only=[name for name, field in self.load_fields.items()
                                if field.required or (field.data_key or name) in sent])

    def load_params(self, params: Any, path: str = "/") -> dict[str, Any]:
        """Validate a call's params (an object; `[]` counts as `{}`) and return the loaded dict.

        Raises:
            InvalidParams: with Zabbix's text for the first problem.
        """
        if isinstance(params, list):
            # PHP sees a JSON list as an array keyed 0, 1, ...: its keys are unexpected.
            params = {str(i): value for i, value in enumerate(params)}
        if not isinstance(params, dict):
            raise invalid(path, "an array is expected")
        for key in params:
            if key not in self._known:
                raise invalid(path, f'unexpected parameter "{key}"')
        try:
            if not self._lean:
                return self.after_load(self.load(params))
            result = self._load_lean(params)
            return self.after_load(self._load_collecting(params) if result is None else result)
        except ValidationError as exc:
            raise first_error(exc.messages, path) from None

    def _load_lean(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """The params loaded field by field, as marshmallow's load gives them (each field's own
        `deserialize`, in declared order, defaults filled); None at the first problem, which
        `_load_collecting` then words as marshmallow collects it."""
        result = {}
        for key, attribute, field, default, plain in self._slots:
            if key in params:
                try:
                    result[attribute] = (_deserialize_plainly(field, params[key], key, params) if plain
                                         else field.deserialize(params[key], key, params))
                except ValidationError:
                    return None
            elif default is not missing:
                result[attribute] = default() if callable(default) else default
            elif field.required:
                return None
        return result

    def _load_collecting(self, params: dict[str, Any]) -> dict[str, Any]:
        """marshmallow's own load of the fields required or sent, with the defaults of the others filled,
        in declared order: it raises the errors it collected where `_load_lean` met a problem."""
        loaded = self._needed_by(frozenset(params)).load(params)
        result = {}
        for _, attribute, _, default, _ in self._slots:
            if attribute in loaded:
                result[attribute] = loaded[attribute]
            elif default is not missing:
                result[attribute] = default() if callable(default) else default
        return result

    def after_load(self, data: dict[str, Any]) -> dict[str, Any]:
        """What `load_params` returns of params whose every field loaded (defaults filled): where a schema
        checks fields against each other, raising ValidationError as a marshmallow hook would. Not such a
        hook, which would cost every load (a fifth of event.acknowledge's) and see no defaults."""
        return data

    def load_many(self, params: Any) -> list[dict[str, Any]]:
        """For create/update methods, which take one object or an array of them: errors name
        the object's position as Zabbix does (`/1/name`, also for a single object)."""
        objects = params if isinstance(params, list) else [params]
        if not objects:
            raise invalid("/", "cannot be empty")
        return [self.load_params(one, _child("/", i)) for i, one in enumerate(objects)]


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def nocase(value: Any) -> Any:
    """A value as a `COLLATE NOCASE` column compares it: ASCII letters folded, nothing else."""
    return value.translate(_ASCII_LOWER) if isinstance(value, str) else value


def refuse_repeats(
    objects: Sequence[Mapping[str, Any]], keys: Sequence[str], *, path: str = "/", fold: Callable[[Any], Hashable] = lambda v: v
) -> None:
    """Zabbix's `uniq` rule for an array of objects: the first object whose `keys` repeat an
    earlier one's is refused, e.g. `Invalid parameter "/2": value (name)=(Web) already exists.`.
    `fold` makes values compare as the database compares them; objects lacking a key are skipped.

    Raises:
        InvalidParams: naming the later object and its values as sent.
    """
    seen: set[tuple[Hashable, ...]] = set()
    for index, obj in enumerate(objects):
        if any(key not in obj for key in keys):
            continue
        values = [obj[key] for key in keys]
        folded = tuple(fold(value) for value in values)
        if folded in seen:
            shown = ", ".join(str(value) for value in values)
            raise invalid(_child(path, index), f"value ({', '.join(keys)})=({shown}) already exists")
        seen.add(folded)


def field_messages(**overrides: str) -> ErrorMessages:
    """Error messages for a marshmallow field: Zabbix's `required`, plus the given ones."""
    return {"required": MISSING, **overrides}
