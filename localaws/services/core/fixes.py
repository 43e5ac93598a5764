"""Where moto's core is too slow to serve a local AWS, or keeps what it never frees."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from localaws.services.patches import Correction, Kind

module_listing = Correction(
    "list_of_moto_modules cache",
    Kind.FIX,
    "moto lists its own package folders (~190 isdir calls) on every request, ~35% of CPU under load; the listing "
    "never changes while the process runs, so it is read once.",
)
_modules: list[tuple[str, ...]] = []


@module_listing.replaces("moto.backends:list_of_moto_modules", params=[])
def list_of_moto_modules(original: Any) -> Iterator[str]:
    if not _modules:
        _modules.append(tuple(original()))
    return iter(_modules[0])  # a fresh iterator each call, like the generator it replaces


region_lists = Correction(
    "region list cache",
    Kind.FIX,
    "moto asks a new boto3 Session for a service's regions when it builds a backend (and EC2 three times at import), "
    "and every new Session parses botocore's endpoints file again: ~0.25 s a time, ~1 s of every start. The answer "
    "depends only on botocore's data files, so one Session answers, once per question.",
)


_session: list[Any] = []  # the one Session that answers


@functools.cache
def _regions(original: Any, service_name: str, partition_name: str, allow_non_regional: bool) -> tuple[str, ...]:
    if not _session:
        import boto3.session

        _session.append(boto3.session.Session())
    return tuple(original(_session[0], service_name, partition_name, allow_non_regional))


@region_lists.replaces(
    "boto3.session:Session.get_available_regions",
    params=["self", "service_name", "partition_name", "allow_non_regional"],
)
def get_available_regions(
    original: Any, self: Any, service_name: str, partition_name: str = "aws", allow_non_regional: bool = False
) -> list[str]:
    return list(_regions(original, service_name, partition_name, allow_non_regional))


backend_lookup = Correction(
    "backend lookup",
    Kind.FIX,
    "moto looks up a service's backend for an account through a global lock, listing the accounts and asking whether "
    "its registry of ~150 backend dictionaries contains this one, which compares dictionaries by value: on every "
    "request and every internal lookup. An account already there is now looked up directly. moto's reset empties "
    "that registry after backends re-created during the reset (one backend's __init__ looking up another's) have "
    "registered, relying on the next lookup to register them again: the reset now keeps every backend dictionary "
    "that holds an account registered, or the next reset would skip it (EC2's instances outlived resets).",
)


@backend_lookup.replaces(
    "moto.core.base_backend:BackendDict.__getitem__",
    params=["self", "account_id"],
    source=["_create_account_specific_backend(account_id)"],
)
def backend_for(original: Any, self: Any, account_id: str) -> Any:
    if dict.__contains__(self, account_id):
        return dict.__getitem__(self, account_id)
    return original(self, account_id)


@backend_lookup.replaces("moto.core.base_backend:BackendDict.reset", params=["cls"])
def reset_backends(original: Any, cls: Any) -> None:
    from moto.core.base_backend import backend_lock

    registered = list(cls._instances)
    original(cls)  # a classmethod's function: cls is passed as to any function
    with backend_lock:
        cls._instances.extend(backends for backends in registered if len(backends) and backends not in cls._instances)


action_names = Correction(
    "action names cache",
    Kind.FIX,
    "moto lists a response class's methods with inspect.getmembers on every request to find the action's method "
    "(~0.3 ms each); a class's methods do not change, so each class is listed once.",
)
_methods: dict[type, tuple[str, ...]] = {}


@action_names.replaces("moto.core.responses:method_names_from_class", params=["clazz"])
def method_names_from_class(original: Any, clazz: type) -> list[str]:
    names = _methods.get(clazz)
    if names is None:
        names = _methods[clazz] = tuple(original(clazz))
    return list(names)


untracked_instances = Correction(
    "untracked model instances",
    Kind.FIX,
    "moto's BaseModel appends every model object it creates to a class-wide list that nothing ever empties: each log "
    "event, each copy of a DynamoDB item, each execution's snapshot of its state machine; memory grew by about 14 KB "
    "per order. Only S3's objects are still tracked (its reset disposes of their temporary files through the list); "
    "the others live as long as moto's backends hold them. moto's /moto-api/data.json lists S3 only then.",
)


@untracked_instances.replaces(
    "moto.core.common_models:BaseModel.__new__", source=["cls.instances_tracked.append(instance)"]
)
def new_model(original: Any, cls: type, *args: Any, **kwargs: Any) -> Any:
    instance = object.__new__(cls)
    if cls.__module__.startswith("moto.s3."):
        cls.instances_tracked.append(instance)  # type: ignore[attr-defined]
    return instance


CORRECTIONS = (untracked_instances, module_listing, region_lists, backend_lookup, action_names)
